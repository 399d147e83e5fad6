#pragma once
// Reading whole input files with a size limit and errors a user can act on.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vmm {

// Throws InputError("<what> <path>: <reason>") when the file is missing,
// unreadable, not a regular file, or larger than max_bytes.
std::vector<std::uint8_t> read_input_file(const std::filesystem::path& path, const std::string& what,
                                          std::uint64_t max_bytes);

}  // namespace vmm
