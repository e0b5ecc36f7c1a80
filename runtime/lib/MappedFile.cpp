//===- MappedFile.cpp - A file mapped read-only ---------------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Model/MappedFile.h"

#include "Support.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace moe {

MappedFile::~MappedFile() {
  if (mapping)
    munmap(const_cast<uint8_t *>(mapping), bytes);
}

std::unique_ptr<MappedFile> MappedFile::open(const std::string &path,
                                             std::string &error) {
  auto fail = [&](const std::string &text) {
    error = detail::makeError(path, text);
    return nullptr;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(std::string("cannot open file: ") + std::strerror(errno));
  struct stat info;
  if (fstat(fd, &info) != 0) {
    int err = errno;
    ::close(fd);
    return fail(std::string("cannot stat file: ") + std::strerror(err));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  std::unique_ptr<MappedFile> file(new MappedFile());
  file->filePath = path;
  file->bytes = static_cast<uint64_t>(info.st_size);
  // An empty file maps nothing.
  if (file->bytes != 0) {
    void *address = mmap(nullptr, file->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    int mapErrno = errno;
    ::close(fd);
    if (address == MAP_FAILED)
      return fail(std::string("cannot map file: ") + std::strerror(mapErrno));
    file->mapping = static_cast<const uint8_t *>(address);
  } else {
    ::close(fd);
  }
  return file;
}

} // namespace moe
