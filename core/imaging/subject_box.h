#pragma once

#include "imaging/photo.h"

namespace pawtrait::imaging {

// Where the pet probably is, found without any model to download: what stands out from the
// photo's border. Each pixel of a copy 64 pixels on its longer side scores its Lab distance to
// the nearest of the border strip's eight main colours (k-means); Otsu's threshold splits the
// scores, the largest part above it (with the parts at least a quarter its size: a body a
// collar cuts in two) makes the box, padded by 15 % on each side.
//
// Measured by tests/bench/subject_box_bench on 60 composites (a cat-textured animal silhouette
// at two sizes and three places on five backgrounds, wide and tall): on grass, gravel and brick
// the box holds at least 90 % of the animal and overlaps it by IoU ≥ 0.5 in all 36; on busy
// photos (a café table, a rocket on its pad) it holds the animal in 22 of 24 but spans most of
// the scene (IoU < 0.5 in all 24): a safe guess, to be tightened by hand. On a close-up whose
// pet fills the frame (chelsea.png) it keeps the face and cuts the ears' tips. A photo where
// nothing stands out gets the whole photo.
CropBox suggest_subject_box(const RgbImage& photo);

}  // namespace pawtrait::imaging
