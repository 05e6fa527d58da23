// `hodgecover info DIR`: summary of a model checkpoint directory (family, sizes, dtypes,
// parameter counts, shards), as text or JSON.
#pragma once

#include <string>

namespace hc::native {

// Opens and validates the checkpoint; prints the summary. Bad input fails with exit code 3
// (CommandFailure) naming the file or tensor.
int run_checkpoint_info(const std::string& dir, bool json);

}  // namespace hc::native
