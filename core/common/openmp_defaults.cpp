// OpenMP's idle threads must not spin for long on a shared CPU.
//
// LibTorch's OpenMP (libgomp) lets a thread that has finished its share of a parallel loop
// busy-wait for up to 300,000 spins (about 3 ms) before it sleeps. When another process
// wants a core too (a browser, the GUI, a second test under `ctest --parallel`), the
// spinning threads take the time the other threads of the same loop need: the tiny model's
// LoRA step went from 0.05 to 1.3–3.0 s with one busy process on two cores. Sleeping at once
// (OMP_WAIT_POLICY=PASSIVE) fixes that but costs every small loop a wake-up: 2.4 times
// slower alone. A spin of 10,000 costs nothing measurable alone and is about ten times
// faster than the default contended (tests/bench/run-openmp-contention; docs/benchmarks.md).
//
// libgomp reads its environment in its own constructor, before main(). Setting a variable
// from an .preinit_array entry is not enough: it runs before libc's own initialisation,
// which then resets `environ` to the process's original environment. So the program starts
// itself once more, at once, with GOMP_SPINCOUNT added, before any library has run a line.
// Nothing changes when the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT themselves, or when the
// program was started through the dynamic loader (`ld.so ./pawtrait-cli`, where /proc/self/exe
// is the loader). Under valgrind, set GOMP_SPINCOUNT first: valgrind does not follow the exec.
#include <unistd.h>

#include <cstring>

namespace {

constexpr const char kSpinCount[] = "GOMP_SPINCOUNT=10000";
constexpr std::size_t kMaxEnvironment = 4096;

bool is_variable(const char* entry, const char* name) {
  const std::size_t n = std::strlen(name);
  return std::strncmp(entry, name, n) == 0 && entry[n] == '=';
}

// Whether /proc/self/exe is this program rather than the dynamic loader that runs it.
bool started_directly() {
  char target[4096];
  const ssize_t n = ::readlink("/proc/self/exe", target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  const char* name = std::strrchr(target, '/');
  name = name != nullptr ? name + 1 : target;
  return std::strncmp(name, "ld-", 3) != 0 && std::strncmp(name, "ld.so", 5) != 0;
}

void set_openmp_defaults(int /*argc*/, char** argv, char** envp) {
  static char* environment[kMaxEnvironment];
  std::size_t count = 0;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    if (is_variable(*e, "OMP_WAIT_POLICY") || is_variable(*e, "GOMP_SPINCOUNT")) return;  // chosen already
    if (count + 2 >= kMaxEnvironment) return;  // an environment this large is left alone
    environment[count++] = *e;
  }
  if (!started_directly()) return;
  environment[count++] = const_cast<char*>(kSpinCount);
  environment[count] = nullptr;
  ::execve("/proc/self/exe", argv, environment);
  // Only reached when the exec failed (no /proc): the program runs on with libgomp's defaults.
}

[[gnu::section(".preinit_array"), gnu::used]] void (*const openmp_defaults_entry)(int, char**,
                                                                                  char**) = &set_openmp_defaults;

}  // namespace
