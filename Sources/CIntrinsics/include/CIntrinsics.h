#ifndef FU_CINTRINSICS_H
#define FU_CINTRINSICS_H

// CPU instructions Swift has no way to ask for, as inline functions it can inline.

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Asks the CPU to bring the cache line at `address` in, to be written, without waiting
/// for it: a batch of random accesses then overlap, and unlike a load a prefetch holds no
/// place in the pipeline while its line is on the way. Swift has no prefetch of its own.
static inline void fu_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Asks for the cache line at `address`, to be read, without waiting for it.
static inline void fu_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Writes the 64 bytes at `source` to `destination` (both 64-byte aligned) past the
/// caches: a write to a line not in cache otherwise reads the line first, and a scatter
/// over many buffers (`EventsByPart`) does that for every line. Such stores are ordered
/// only by `fu_store_fence`, which must come before another thread reads the lines.
static inline void fu_stream_line(void *destination, const void *source) {
#if defined(__SSE2__)
    __m128i *to = (__m128i *)destination;
    const __m128i *from = (const __m128i *)source;
    _mm_stream_si128(to, _mm_load_si128(from));
    _mm_stream_si128(to + 1, _mm_load_si128(from + 1));
    _mm_stream_si128(to + 2, _mm_load_si128(from + 2));
    _mm_stream_si128(to + 3, _mm_load_si128(from + 3));
#else
    __builtin_memcpy(destination, source, 64);
#endif
}

static inline void fu_store_fence(void) {
#if defined(__SSE2__)
    _mm_sfence();
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/// Where the 64 bytes from `bytes` hold a comma, a line feed, or anything else a plain CSV
/// record may not hold (a quote, a carriage return, a byte >= 0x80): bit i for byte i.
typedef struct {
    uint64_t commas;
    uint64_t newlines;
    uint64_t others;
} fu_csv_marks;

/// Whether `fu_csv_marks64` compares 16 bytes an instruction (SSE2, every x86-64 CPU); if
/// not, the caller's word-at-a-time scan is faster than its byte loop.
static inline int fu_csv_marks_fast(void) {
#if defined(__SSE2__)
    return 1;
#else
    return 0;
#endif
}

/// The marks of the 64 bytes from `bytes`, all of which must be readable.
static inline fu_csv_marks fu_csv_marks64(const uint8_t *bytes) {
    fu_csv_marks marks = {0, 0, 0};
#if defined(__SSE2__)
    const __m128i comma = _mm_set1_epi8(','), newline = _mm_set1_epi8('\n');
    const __m128i quote = _mm_set1_epi8('"'), carriage = _mm_set1_epi8('\r');
    for (int i = 0; i < 4; i++) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(bytes + 16 * i));
        // A byte >= 0x80 has its top bit set, as the comparisons' 0xFF results do.
        const __m128i other = _mm_or_si128(v, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, carriage)));
        marks.commas |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma)) << (16 * i);
        marks.newlines |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, newline)) << (16 * i);
        marks.others |= (uint64_t)(uint16_t)_mm_movemask_epi8(other) << (16 * i);
    }
#else
    for (int i = 0; i < 64; i++) {
        const uint8_t b = bytes[i];
        marks.commas |= (uint64_t)(b == ',') << i;
        marks.newlines |= (uint64_t)(b == '\n') << i;
        marks.others |= (uint64_t)(b == '"' || b == '\r' || b >= 0x80) << i;
    }
#endif
    return marks;
}

#endif
