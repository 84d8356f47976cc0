#ifndef FU_CPREFETCH_H
#define FU_CPREFETCH_H

/// Asks the CPU to bring the cache line at `address` in, to be written, without waiting
/// for it: a batch of random accesses then overlap, and unlike a load a prefetch holds no
/// place in the pipeline while its line is on the way. Swift has no prefetch of its own.
static inline void fu_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
