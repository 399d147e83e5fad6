/* histogram.c - see histogram.h. */
#include "lib/histogram.h"

static uint32_t bins[HISTOGRAM_BINS];

void histogram_init(struct histogram *h, uint64_t bin_tenths)
{
    /* The bins are BSS, zero at boot, and a boot runs one benchmark: not
     * clearing 256 KiB here saves a quarter of a second of emulated ring 0. */
    h->bin_tenths = bin_tenths ? bin_tenths : 1;
    h->overflow = 0;
    h->max_tenths = 0;
}

void histogram_add(struct histogram *h, uint64_t tenths)
{
    uint64_t bin = tenths / h->bin_tenths;
    if (bin < HISTOGRAM_BINS)
        bins[bin]++;
    else
        h->overflow++;
    if (tenths > h->max_tenths)
        h->max_tenths = tenths;
}

uint64_t histogram_percentile(const struct histogram *h, uint64_t samples, unsigned pct)
{
    uint64_t rank = (samples * pct + 99) / 100, cum = 0;
    if (!rank)
        rank = 1;
    for (uint64_t b = 0; b < HISTOGRAM_BINS; b++) {
        cum += bins[b];
        if (cum >= rank)
            return b * h->bin_tenths + h->bin_tenths / 2;
    }
    return h->max_tenths;
}
