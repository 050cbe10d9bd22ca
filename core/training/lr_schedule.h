#pragma once

#include <cstdint>
#include <string>

namespace pawtrait::training {

// The learning rate at optimizer step `step` (1-based): a linear warm-up from 0 over
// `warmup_steps`, then constant or a half cosine down to 0 at `total_steps` (Loshchilov &
// Hutter's schedule without restarts, as diffusers' get_cosine_schedule_with_warmup).
double learning_rate_at(std::int64_t step, double base_lr, const std::string& schedule, std::int64_t warmup_steps,
                        std::int64_t total_steps);

}  // namespace pawtrait::training
