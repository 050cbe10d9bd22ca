// How often suggest_subject_box finds the animal: a cat-textured horse silhouette (scikit-image's
// horse.png filled with chelsea.png) at two sizes and three places on five backgrounds, in a wide
// and a tall frame, against the silhouette's own box; then the box on whole sample photos.
//
//   pip download --no-deps scikit-image && unzip -o scikit_image-*.whl 'skimage/data/*'
//   build/tests/bench/subject_box_bench skimage/data [out-folder for the boxes drawn]
//
// Not a test: the photos come from PyPI, never at test time; it prints what the subject box's
// comment reports.
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "imaging/subject_box.h"

namespace {

using pawtrait::imaging::CropBox;
using pawtrait::imaging::RgbImage;

RgbImage to_rgb(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  RgbImage out{rgb.cols, rgb.rows, {}};
  out.rgb.assign(rgb.data, rgb.data + rgb.total() * 3);
  return out;
}

cv::Rect rect_of(const CropBox& b) {
  return {static_cast<int>(b.x), static_cast<int>(b.y), static_cast<int>(b.width), static_cast<int>(b.height)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: subject_box_bench SKIMAGE_DATA_FOLDER [OUT_FOLDER]\n");
    return 2;
  }
  const std::filesystem::path data = argv[1];
  const std::filesystem::path out = argc > 2 ? argv[2] : "";
  const cv::Mat horse = cv::imread((data / "horse.png").string(), cv::IMREAD_GRAYSCALE);
  const cv::Mat cat = cv::imread((data / "chelsea.png").string());
  if (horse.empty() || cat.empty()) {
    std::fprintf(stderr, "subject_box_bench: %s has no horse.png or chelsea.png\n", argv[1]);
    return 2;
  }
  const cv::Mat silhouette = horse < 128;  // the horse is the dark part
  int cases = 0;
  for (const char* name : {"grass.png", "gravel.png", "brick.png", "coffee.png", "rocket.jpg"}) {
    const cv::Mat background = cv::imread((data / name).string());
    int held = 0, overlapping = 0, count = 0;
    for (const cv::Size frame : {cv::Size(800, 600), cv::Size(600, 800)}) {
      cv::Mat scene;
      cv::resize(background, scene, frame);
      for (const double width_fraction : {0.45, 0.25}) {
        for (const cv::Point2d at : {cv::Point2d(0.1, 0.15), cv::Point2d(0.5, 0.5), cv::Point2d(0.8, 0.75)}) {
          const int w = static_cast<int>(frame.width * width_fraction);
          const int h = w * horse.rows / horse.cols;
          cv::Mat mask, texture;
          cv::resize(silhouette, mask, {w, h}, 0, 0, cv::INTER_NEAREST);
          cv::resize(cat, texture, {w, h});
          const int x = std::clamp(static_cast<int>(at.x * frame.width - w / 2.0), 0, frame.width - w);
          const int y = std::clamp(static_cast<int>(at.y * frame.height - h / 2.0), 0, frame.height - h);
          cv::Mat photo = scene.clone();
          texture.copyTo(photo(cv::Rect(x, y, w, h)), mask);
          const cv::Rect truth = cv::boundingRect(mask) + cv::Point(x, y);
          const cv::Rect found = rect_of(pawtrait::imaging::suggest_subject_box(to_rgb(photo)));
          const double inside = static_cast<double>((found & truth).area()) / truth.area();
          const double shared = (found & truth).area();
          const double iou = shared / (found.area() + truth.area() - shared);
          held += inside >= 0.9;
          overlapping += iou >= 0.5;
          ++count;
          if (!out.empty()) {
            cv::rectangle(photo, truth, {0, 255, 0}, 3);
            cv::rectangle(photo, found, {0, 0, 255}, 3);
            cv::imwrite((out / ("composite-" + std::to_string(++cases) + ".png")).string(), photo);
          }
        }
      }
    }
    std::printf("%-11s %2d composites: box holds >= 90%% of the animal in %2d, IoU >= 0.5 in %2d\n", name, count, held,
                overlapping);
  }
  for (const char* name : {"chelsea.png", "astronaut.png", "coffee.png", "rocket.jpg", "motorcycle_left.png"}) {
    cv::Mat photo = cv::imread((data / name).string());
    const CropBox b = pawtrait::imaging::suggest_subject_box(to_rgb(photo));
    std::printf("%-20s %4dx%-4d box %ld,%ld %ldx%ld\n", name, photo.cols, photo.rows, static_cast<long>(b.x),
                static_cast<long>(b.y), static_cast<long>(b.width), static_cast<long>(b.height));
    if (!out.empty()) {
      cv::rectangle(photo, rect_of(b), {0, 0, 255}, 3);
      cv::imwrite((out / ("photo-" + std::string(name) + ".png")).string(), photo);
    }
  }
  return 0;
}
