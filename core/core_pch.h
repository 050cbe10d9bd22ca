// Precompiled for core's translation units: the LibTorch headers most of them need.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>
