#!/usr/bin/env python3
"""A stand-in for the Hugging Face hub on 127.0.0.1 for the CLI's end-to-end test.

Serves FOLDER as repository REPO at commit COMMIT in the hub's URL layout (the API file
list and resolve URLs with Range and the X-Linked-Etag/X-Linked-Size headers), and writes
the port it listens on to PORT_FILE. Standard library only.

FAKE_HUB_TLS=CERT:KEY serves https; FAKE_HUB_REDIRECT_LFS=URL answers a .safetensors resolve
request with a redirect to URL + the same path, as the hub sends its CDN's address.
"""
import hashlib
import http.server
import json
import os
import ssl
import sys
import urllib.parse

folder, repo, commit, port_file = sys.argv[1:5]
files = {}
for root, _, names in os.walk(folder):
    for name in names:
        path = os.path.join(root, name)
        files[os.path.relpath(path, folder).replace(os.sep, "/")] = path


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        api = "/api/models/%s/revision/" % repo
        resolve = "/%s/resolve/" % repo
        if path.startswith(api):
            siblings = []
            for name, real in sorted(files.items()):
                entry = {"rfilename": name, "size": os.path.getsize(real)}
                if name.endswith(".safetensors"):
                    entry["lfs"] = {"sha256": sha256(real), "size": os.path.getsize(real)}
                siblings.append(entry)
            body = json.dumps({"id": repo, "sha": commit, "siblings": siblings}).encode()
            return self.reply(200, body, [("Content-Type", "application/json")])
        if path.startswith(resolve):
            name = path[len(resolve):].split("/", 1)[1]
            redirect = os.environ.get("FAKE_HUB_REDIRECT_LFS")
            if name in files and redirect and name.endswith(".safetensors"):
                return self.reply(302, b"", [("Location", redirect + path), ("X-Linked-Etag", '"%s"' % sha256(files[name]))])
            if name in files:
                data = open(files[name], "rb").read()
                headers = [("X-Repo-Commit", commit)]
                if name.endswith(".safetensors"):
                    headers += [("X-Linked-Etag", '"%s"' % sha256(files[name])), ("X-Linked-Size", str(len(data)))]
                start = 0
                wanted = self.headers.get("Range", "")
                if wanted.startswith("bytes="):
                    start = int(wanted[6:].split("-")[0])
                    headers.append(("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))))
                return self.reply(206 if start else 200, data[start:], headers)
            return self.reply(404, b"{}", [("X-Error-Code", "EntryNotFound")])
        self.reply(404, b'{"error":"Repository not found"}', [("X-Error-Code", "RepoNotFound")])


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if os.environ.get("FAKE_HUB_TLS"):
    cert, key = os.environ["FAKE_HUB_TLS"].split(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
