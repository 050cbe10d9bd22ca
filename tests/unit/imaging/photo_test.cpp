// Photos as people have them: orientation, transparency, bit depth, grey, broken files,
// duplicates, too-small pictures.
#include "imaging/photo.h"
#include "imaging/caption_sidecar.h"
#include "imaging/subject_box.h"

#include "imaging/image_size.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "test_support.h"

namespace pawtrait::imaging {
namespace {

namespace fs = std::filesystem;

class Photos : public testing::TempDirTest {
 protected:
  fs::path save(const std::string& name, const cv::Mat& image) {
    EXPECT_TRUE(cv::imwrite(path(name).string(), image));
    return path(name);
  }
  // A JPEG with an EXIF APP1 segment carrying only the Orientation tag.
  fs::path jpeg_with_orientation(const std::string& name, const cv::Mat& image, std::uint16_t orientation) {
    std::vector<std::uint8_t> jpeg;
    cv::imencode(".jpg", image, jpeg);
    const std::uint8_t tiff[] = {'I',
                                 'I',
                                 42,
                                 0,
                                 8,
                                 0,
                                 0,
                                 0,  // little-endian, IFD at 8
                                 1,
                                 0,  // one entry
                                 0x12,
                                 0x01,
                                 3,
                                 0,
                                 1,
                                 0,
                                 0,
                                 0,  // Orientation, SHORT, count 1
                                 static_cast<std::uint8_t>(orientation),
                                 0,
                                 0,
                                 0,  // value
                                 0,
                                 0,
                                 0,
                                 0};  // no next IFD
    std::string app1 = std::string("Exif\0\0", 6) + std::string(reinterpret_cast<const char*>(tiff), sizeof tiff);
    const std::size_t length = app1.size() + 2;
    std::string segment = {'\xFF', '\xE1', static_cast<char>(length >> 8), static_cast<char>(length & 0xFF)};
    segment += app1;
    std::string bytes(jpeg.begin(), jpeg.begin() + 2);  // SOI
    bytes += segment;
    bytes.append(jpeg.begin() + 2, jpeg.end());
    return write_bytes(name, bytes);
  }
};

TEST_F(Photos, TheDemoPhoto) {
  const RgbImage image = load_photo(testing::testdata() / "photos" / "chelsea.png");
  EXPECT_GT(image.width, 100);
  EXPECT_GT(image.height, 100);
  const RgbImage square = square_crop(image, 64);
  EXPECT_EQ(square.width, 64);
  EXPECT_EQ(square.height, 64);
  EXPECT_EQ(square.rgb.size(), 64u * 64u * 3u);
}

TEST_F(Photos, ExifOrientationIsApplied) {
  cv::Mat wide(10, 20, CV_8UC3, cv::Scalar(0, 0, 255));                                // 20 wide, 10 high, red (BGR)
  const RgbImage upright = load_photo(jpeg_with_orientation("rotated.jpg", wide, 6));  // rotate 90°
  EXPECT_EQ(upright.width, 10);
  EXPECT_EQ(upright.height, 20);
  EXPECT_GT(upright.rgb[0], 200);  // red first: BGR became RGB
  EXPECT_LT(upright.rgb[2], 60);
}

TEST_F(Photos, TransparencyBecomesWhite) {
  cv::Mat bgra(4, 4, CV_8UC4, cv::Scalar(0, 0, 255, 0));  // fully transparent red
  bgra.at<cv::Vec4b>(0, 0) = cv::Vec4b(0, 0, 255, 255);   // one opaque red pixel
  bgra.at<cv::Vec4b>(0, 1) = cv::Vec4b(0, 0, 255, 128);   // one half-transparent
  const RgbImage image = load_photo(save("alpha.png", bgra));
  EXPECT_EQ(image.rgb[0], 255);  // opaque red
  EXPECT_EQ(image.rgb[1], 0);
  EXPECT_EQ(image.rgb[4], 127);      // half red over white: pink
  EXPECT_EQ(image.rgb[3 * 5], 255);  // transparent: white
  EXPECT_EQ(image.rgb[3 * 5 + 1], 255);
}

TEST_F(Photos, SixteenBitAndGrey) {
  cv::Mat deep(4, 4, CV_16UC3, cv::Scalar(65535, 0, 32896));
  const RgbImage d = load_photo(save("deep.png", deep));
  EXPECT_EQ(d.rgb[0], 128);  // R from the third BGR channel: 32896 / 257
  EXPECT_EQ(d.rgb[2], 255);
  cv::Mat grey(4, 4, CV_8UC1, cv::Scalar(77));
  const RgbImage g = load_photo(save("grey.png", grey));
  EXPECT_EQ(g.rgb[0], 77);
  EXPECT_EQ(g.rgb[1], 77);
  EXPECT_EQ(g.rgb[2], 77);
}

TEST_F(Photos, VerdictsForEveryKind) {
  const cv::Mat cat = cv::imread((testing::testdata() / "photos" / "chelsea.png").string());
  const fs::path good = save("a.png", cat);
  cv::Mat smaller;
  cv::resize(cat, smaller, cv::Size(cat.cols / 2, cat.rows / 2), 0, 0, cv::INTER_AREA);
  const fs::path same = save("b.jpg", smaller);  // the same picture, resized and re-encoded
  const fs::path tiny = save("c.png", cv::Mat(20, 30, CV_8UC3, cv::Scalar(9, 99, 199)));
  const fs::path broken = write_bytes("d.jpg", "\xFF\xD8\xFF this is not really a jpeg");
  const auto checks = check_photos({good, same, tiny, broken, path("missing.png")}, 64);
  ASSERT_EQ(checks.size(), 5u);
  EXPECT_EQ(checks[0].verdict, PhotoVerdict::Ok);
  EXPECT_EQ(checks[1].verdict, PhotoVerdict::Duplicate);
  EXPECT_NE(checks[1].reason.find("a.png"), std::string::npos) << checks[1].reason;
  EXPECT_EQ(checks[2].verdict, PhotoVerdict::TooSmall);
  EXPECT_NE(checks[2].reason.find("30x20"), std::string::npos) << checks[2].reason;
  EXPECT_EQ(checks[3].verdict, PhotoVerdict::Unreadable);
  EXPECT_NE(checks[3].reason.find("d.jpg"), std::string::npos) << checks[3].reason;
  EXPECT_EQ(checks[4].verdict, PhotoVerdict::Unreadable);
}

// A blurred photo is used, with a warning that says what to do; a sharp one has none. The
// demo cat scores 222, its blur of σ = 3 px about 5 (kBlurredBelow: 60).
TEST_F(Photos, ABlurredPhotoIsUsedWithAWarning) {
  const cv::Mat cat = cv::imread((testing::testdata() / "photos" / "chelsea.png").string());
  cv::Mat blurred;
  cv::GaussianBlur(cat, blurred, cv::Size(), 3.0);
  EXPECT_GT(sharpness(load_photo(testing::testdata() / "photos" / "chelsea.png")), 3 * kBlurredBelow);  // a margin
  const auto sharp = check_photos({save("sharp.png", cat)}, 64);
  EXPECT_EQ(sharp[0].verdict, PhotoVerdict::Ok);
  EXPECT_TRUE(sharp[0].warning.empty()) << sharp[0].warning;
  const auto soft = check_photos({save("blurred.png", blurred)}, 64);
  EXPECT_EQ(soft[0].verdict, PhotoVerdict::Ok);
  EXPECT_NE(soft[0].warning.find("looks blurred"), std::string::npos) << soft[0].warning;
  EXPECT_NE(soft[0].warning.find("sharper photo"), std::string::npos) << soft[0].warning;
  // The same photo at twice the size scores about the same: the measure is taken at 256 pixels.
  cv::Mat larger;
  cv::resize(cat, larger, cv::Size(cat.cols * 2, cat.rows * 2), 0, 0, cv::INTER_CUBIC);
  const double at_1x = sharpness(load_photo(save("1x.png", cat))),
               at_2x = sharpness(load_photo(save("2x.png", larger)));
  EXPECT_NEAR(at_2x / at_1x, 1.0, 0.25) << at_1x << " against " << at_2x;
}

TEST_F(Photos, AnAlmostIdenticalPhotoAndASmallPetAreUsedWithWarnings) {
  const cv::Mat cat = cv::imread((testing::testdata() / "photos" / "chelsea.png").string());
  // The same moment a step to the side: 4 % of the width cut off (7 bits of the hash apart).
  const cv::Mat moved = cat(cv::Rect(18, 0, cat.cols - 18, cat.rows)).clone();
  // Elsewhere: the cat turned 15° (25 bits apart).
  cv::Mat turned_photo;
  cv::warpAffine(cat, turned_photo, cv::getRotationMatrix2D({cat.cols / 2.f, cat.rows / 2.f}, 15, 1.08), cat.size());
  // The cat small on a grey floor: 90 × 60 pixels of a 640 × 480 photo.
  cv::Mat floor(480, 640, CV_8UC3);
  cv::randu(floor, cv::Scalar::all(90), cv::Scalar::all(170));
  cv::Mat small;
  cv::resize(cat, small, cv::Size(90, 60), 0, 0, cv::INTER_AREA);
  small.copyTo(floor(cv::Rect(400, 300, 90, 60)));
  const auto checks = check_photos(
      {save("cat.png", cat), save("moved.png", moved), save("turned.png", turned_photo), save("small.png", floor)}, 64);
  ASSERT_EQ(checks.size(), 4u);
  for (const auto& c : checks) EXPECT_EQ(c.verdict, PhotoVerdict::Ok) << c.path;
  EXPECT_TRUE(checks[0].warning.empty()) << checks[0].warning;
  EXPECT_NE(checks[1].warning.find("almost the same as cat.png"), std::string::npos) << checks[1].warning;
  EXPECT_TRUE(checks[2].warning.empty()) << checks[2].warning;
  EXPECT_NE(checks[3].warning.find("shows your pet small"), std::string::npos) << checks[3].warning;
  EXPECT_NE(checks[3].warning.find("crop the photo to your pet"), std::string::npos) << checks[3].warning;
}

TEST(TurnedPhoto, AQuarterTurnIsClockwise) {
  // 3 × 2 pixels, each pixel's red its index: turned clockwise, the bottom-left pixel (3) is
  // the top-left one, the photo 2 × 3.
  RgbImage image{3, 2, {}};
  for (std::uint8_t i = 0; i < 6; ++i) image.rgb.insert(image.rgb.end(), {i, 0, 0});
  const RgbImage quarter = turned(image, 1);
  ASSERT_EQ(quarter.width, 2);
  ASSERT_EQ(quarter.height, 3);
  std::vector<std::uint8_t> red;
  for (std::size_t i = 0; i < quarter.rgb.size(); i += 3) red.push_back(quarter.rgb[i]);
  EXPECT_EQ(red, (std::vector<std::uint8_t>{3, 0, 4, 1, 5, 2}));
  EXPECT_EQ(turned(image, 4).rgb, image.rgb);
  EXPECT_EQ(turned(turned(image, 1), -1).rgb, image.rgb);
  EXPECT_EQ(turned(image, 2).rgb, turned(turned(image, 1), 1).rgb);
  EXPECT_EQ(centred_square(CropBox{10, 20, 100, 40}), (CropBox{40, 20, 40, 40}));
}

TEST(SubjectBox, FindsAnAnimalThatStandsOutFromTheFloor) {
  // The demo cat's fur in an ellipse on grey noise (a gravel floor), off centre in a tall photo.
  const RgbImage cat = load_photo(testing::testdata() / "photos" / "chelsea.png");
  RgbImage photo{300, 400, std::vector<std::uint8_t>(300 * 400 * 3)};
  std::uint32_t noise = 12345;
  const std::int64_t cx = 190, cy = 120, rx = 70, ry = 50;  // the animal's box: 120,70 140x100
  for (std::int64_t y = 0; y < photo.height; ++y) {
    for (std::int64_t x = 0; x < photo.width; ++x) {
      std::uint8_t* p = &photo.rgb[static_cast<std::size_t>((y * photo.width + x) * 3)];
      const double dx = static_cast<double>(x - cx) / rx, dy = static_cast<double>(y - cy) / ry;
      if (dx * dx + dy * dy <= 1.0) {
        std::copy_n(&cat.rgb[static_cast<std::size_t>(((y + 50) * cat.width + x + 50) * 3)], 3, p);
      } else {
        noise = noise * 1664525u + 1013904223u;  // a fixed grey texture
        std::fill_n(p, 3, static_cast<std::uint8_t>(90 + (noise >> 24) % 80));
      }
    }
  }
  const CropBox box = suggest_subject_box(photo);
  const std::int64_t left = std::max<std::int64_t>(box.x, 120), right = std::min<std::int64_t>(box.x + box.width, 260);
  const std::int64_t top = std::max<std::int64_t>(box.y, 70), bottom = std::min<std::int64_t>(box.y + box.height, 170);
  const double shared =
      static_cast<double>(std::max<std::int64_t>(0, right - left) * std::max<std::int64_t>(0, bottom - top));
  std::cout << "[ measured ] the animal at 120,70 140x100, the box at " << box.x << "," << box.y << " " << box.width
            << "x" << box.height << "\n";
  EXPECT_GE(shared / (140.0 * 100.0), 0.9);  // the whole animal, or nearly
  EXPECT_GE(shared / (static_cast<double>(box.width * box.height) + 140.0 * 100.0 - shared), 0.5);  // and not the floor
  // Nothing that stands out: the whole photo.
  const RgbImage grey{64, 64, std::vector<std::uint8_t>(64 * 64 * 3, 128)};
  EXPECT_EQ(suggest_subject_box(grey), (CropBox{0, 0, 64, 64}));
}

TEST_F(Photos, CaptionSidecarsRoundTrip) {
  const auto photo = path("dog1.jpg");
  EXPECT_EQ(caption_sidecar_path(photo), path("dog1.txt"));
  EXPECT_EQ(read_caption_sidecar(photo), "");  // none yet
  write_caption_sidecar(photo, "  lying on\nthe   grass \n");
  EXPECT_EQ(read_caption_sidecar(photo), "lying on the grass");
  write_bytes("dog1.txt", "by the sea\r\n");  // as another tool writes it
  EXPECT_EQ(read_caption_sidecar(photo), "by the sea");
  write_caption_sidecar(photo, " ");
  EXPECT_FALSE(std::filesystem::exists(path("dog1.txt")));
  write_bytes("dog1.txt", std::string(5000, 'a'));
  EXPECT_THROW_MESSAGE(read_caption_sidecar(photo), "dog1.txt", "too long for a caption");
}

TEST_F(Photos, CropBoxAndFolders) {
  const fs::path p = save("x.png", cv::Mat(40, 60, CV_8UC3, cv::Scalar(1, 2, 3)));
  save("y.jpg", cv::Mat(40, 60, CV_8UC3, cv::Scalar(1, 2, 3)));
  write_bytes("notes.txt", "not a photo");
  const RgbImage image = load_photo(p);
  EXPECT_EQ(square_crop(image, 16, CropBox{10, 0, 40, 40}).width, 16);
  EXPECT_THROW_MESSAGE(square_crop(image, 16, CropBox{30, 0, 40, 40}), "does not fit", "60x40");
  const auto found = find_photos({dir_});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].filename(), "x.png");
}

// The header alone says the size, in every format OpenCV writes here (the JPEG with an EXIF
// segment before its frame header), and a photo claiming more pixels than allowed is refused
// before decoding.
TEST_F(Photos, SizeComesFromTheHeaderAndHugeOnesAreRefusedUndecoded) {
  const cv::Mat image(37, 53, CV_8UC3, cv::Scalar(10, 20, 30));
  for (const char* name : {"a.png", "a.jpg", "a.bmp", "a.webp"}) {
    const auto size = read_image_size(save(name, image));
    ASSERT_TRUE(size) << name;
    EXPECT_EQ(size->width, 53) << name;
    EXPECT_EQ(size->height, 37) << name;
  }
  const auto exif = read_image_size(jpeg_with_orientation("exif.jpg", image, 6));
  ASSERT_TRUE(exif);
  EXPECT_EQ(exif->width, 53);  // the stored frame, before the orientation turns it
  std::vector<std::uint8_t> lossless;
  cv::imencode(".webp", image, lossless, {cv::IMWRITE_WEBP_QUALITY, 101});
  const auto webp = read_image_size(write_bytes("lossless.webp", std::string(lossless.begin(), lossless.end())));
  ASSERT_TRUE(webp);
  EXPECT_EQ(webp->width, 53);
  EXPECT_FALSE(read_image_size(write_bytes("x.txt", "not a picture")));

  // A PNG whose header says 100000 x 90000: 9 gigapixels, 27 GB decoded.
  std::vector<std::uint8_t> png;
  cv::imencode(".png", image, png);
  const std::uint8_t huge[8] = {0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x5F, 0x90};
  std::copy(huge, huge + 8, png.begin() + 16);
  const fs::path bomb = write_bytes("bomb.png", std::string(png.begin(), png.end()));
  EXPECT_THROW_MESSAGE(load_photo(bomb), "bomb.png", "100000x90000", "9000 megapixels", "scale it down");
  // Sides whose product passes 64 bits (found by fuzz.photo): still told in megapixels.
  const std::uint8_t damaged[8] = {0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xF8, 0x33};
  std::copy(damaged, damaged + 8, png.begin() + 16);
  const fs::path wide = write_bytes("damaged.png", std::string(png.begin(), png.end()));
  EXPECT_THROW_MESSAGE(load_photo(wide), "4294967039x4294965299", "18446734392853 megapixels");
}

}  // namespace
}  // namespace pawtrait::imaging
