// zstd compression of blobs. Frames always record their content size, so a
// reader can check it against the index before allocating anything.
#include "core/compress/zstd_codec.h"

#include <zstd.h>

#include <string>

namespace coffre::compress {

namespace {

// Largest plaintext a blob may claim. Chunks are at most 64 MiB (the
// chunker's ceiling); a hostile index must not make us allocate more.
constexpr size_t kMaxBlobSize = size_t{64} << 20;

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

// One decompression context per thread: Decompress stays a free, thread-safe
// function without paying for a context allocation per blob.
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

Status SizeMismatch(uint64_t got, size_t expected) {
  return CorruptionError("compressed blob holds " + std::to_string(got) +
                         " bytes, index says " + std::to_string(expected));
}

}  // namespace

struct Compressor::Impl {
  ZSTD_CCtx* ctx = nullptr;
  ~Impl() { ZSTD_freeCCtx(ctx); }
};

Compressor::Compressor(int level) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = ZSTD_createCCtx();
  // zstd clamps out-of-range levels itself; checksums are off because every
  // blob is authenticated by AEAD and its id is checked after decompression.
  ZSTD_CCtx_setParameter(impl_->ctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(impl_->ctx, ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(impl_->ctx, ZSTD_c_checksumFlag, 0);
}

Compressor::~Compressor() = default;

Codec Compressor::Compress(ByteView data, Bytes* out) {
  out->clear();
  const size_t size = data.size();
  // Worth keeping only if it saves at least size/64 bytes. Giving zstd a
  // buffer of exactly that budget makes it stop with an error as soon as
  // the frame cannot fit, instead of us allocating compressBound().
  const size_t budget = size - size / 64;
  if (budget == size || impl_->ctx == nullptr) {
    // Inputs under 64 bytes cannot save a byte (and a frame header costs
    // more); a failed context allocation degrades to storing raw.
    return Codec::kNone;
  }
  out->resize(budget);
  size_t n =
      ZSTD_compress2(impl_->ctx, out->data(), out->size(), data.data(), size);
  if (ZSTD_isError(n)) {
    out->clear();
    return Codec::kNone;
  }
  out->resize(n);
  return Codec::kZstd;
}

Result<Bytes> Decompress(Codec codec, ByteView data, size_t expected_size) {
  if (codec == Codec::kNone) {
    if (data.size() != expected_size)
      return Err(SizeMismatch(data.size(), expected_size));
    return Bytes(data.begin(), data.end());
  }
  if (codec != Codec::kZstd) {
    return Err(CorruptionError("unknown compression codec " +
                               std::to_string(static_cast<int>(codec))));
  }
  if (expected_size > kMaxBlobSize) {
    return Err(CorruptionError("blob size " + std::to_string(expected_size) +
                               " exceeds the 64 MiB limit"));
  }
  // Exactly one frame, nothing after it, with a recorded content size.
  size_t frame_size = ZSTD_findFrameCompressedSize(data.data(), data.size());
  if (ZSTD_isError(frame_size) || frame_size != data.size()) {
    return Err(CorruptionError("compressed blob is not a single zstd frame"));
  }
  unsigned long long content =
      ZSTD_getFrameContentSize(data.data(), data.size());
  if (content == ZSTD_CONTENTSIZE_ERROR ||
      content == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Err(CorruptionError("zstd frame does not record its content size"));
  }
  if (content != expected_size)
    return Err(SizeMismatch(content, expected_size));

  ZSTD_DCtx* ctx = ThreadDCtx();
  if (ctx == nullptr)
    return Err(InternalError("cannot allocate a zstd context"));
  Bytes out(expected_size);
  size_t n = ZSTD_decompressDCtx(ctx, out.data(), out.size(), data.data(),
                                 data.size());
  if (ZSTD_isError(n)) {
    return Err(CorruptionError(std::string("zstd frame is damaged: ") +
                               ZSTD_getErrorName(n)));
  }
  if (n != expected_size) return Err(SizeMismatch(n, expected_size));
  return out;
}

}  // namespace coffre::compress
