/* lib/histogram.h - the benchmarks' latency histogram: fixed-width bins of
 * tenths of a microsecond, so a percentile needs no sort in ring 0 (slow
 * under the instruction emulator). One set of bins serves whichever
 * benchmark runs: they never run together. */
#pragma once

#include <stdint.h>

#define HISTOGRAM_BINS 65536

struct histogram {
    uint64_t bin_tenths;     /* width of a bin, in 0.1 us */
    uint64_t overflow;       /* samples beyond the last bin */
    uint64_t max_tenths;     /* the largest sample, for a percentile in the overflow */
};

/* Sets the bins' width; they start empty (once per boot). */
void histogram_init(struct histogram *h, uint64_t bin_tenths);
void histogram_add(struct histogram *h, uint64_t tenths);
/* The middle of the bin holding the rank-th smallest of `samples` samples
 * (the maximum if it lies in the overflow), in 0.1 us. */
uint64_t histogram_percentile(const struct histogram *h, uint64_t samples, unsigned pct);

/* TSC cycles at `khz` to tenths of a microsecond, rounded, without overflow
 * for any realistic count. */
static inline uint64_t cycles_to_tenths(uint64_t cycles, uint64_t khz)
{
    return cycles / khz * 10000 + (cycles % khz * 10000 + khz / 2) / khz;
}
