/*
 * Per-domain HVM state the save stream carries: the HVM context blob (a
 * chain of well-formed hvm_save_descriptor records), HVM params, TSC info
 * and the CPU policy.  Defaults look like a freshly booted Intel guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsim.h"

#define DESC sizeof(struct hvm_save_descriptor)
#define GUEST_CPUID 0x000906eaU /* CPUID[1].eax of a Coffee Lake host */
#define GUEST_TSC_KHZ 2400000U

static const struct xen_cpuid_leaf default_leaves[] = {
    {0x0, XEN_CPUID_NO_SUBLEAF, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69}, /* GenuineIntel */
    {0x1, XEN_CPUID_NO_SUBLEAF, GUEST_CPUID, 0x00100800, 0xf6d83203, 0x178bfbff},
    {0x7, 0x0, 0x0, 0x009c27ab, 0x00000004, 0xbc000400},
    {0xd, 0x0, 0x7, 0x0, 0x340, 0x0},
    {0xd, 0x1, 0xf, 0x0, 0x0, 0x0},
    {0x80000000, XEN_CPUID_NO_SUBLEAF, 0x80000008, 0x0, 0x0, 0x0},
    {0x80000001, XEN_CPUID_NO_SUBLEAF, 0x0, 0x0, 0x00000121, 0x2c100800},
    {0x80000008, XEN_CPUID_NO_SUBLEAF, 0x3027, 0x0, 0x0, 0x0},
};

static const struct xen_msr_entry default_msrs[] = {
    {0x000000ce, 0, 0x0}, /* MSR_INTEL_PLATFORM_INFO */
    {0x0000010a, 0, 0x0}, /* MSR_ARCH_CAPABILITIES */
};

void xsim_init_hvm_state(struct xsim_domain *d)
{
    memset(d->params, 0, sizeof(d->params));
    if (d->spec_created) {
        d->params[HVM_PARAM_IOREQ_PFN] = XSIM_SPECIAL_PFN + 0;
        d->params[HVM_PARAM_BUFIOREQ_PFN] = XSIM_SPECIAL_PFN + 1;
        d->params[HVM_PARAM_STORE_PFN] = XSIM_SPECIAL_PFN + 2;
        d->params[HVM_PARAM_CONSOLE_PFN] = XSIM_SPECIAL_PFN + 3;
        d->params[HVM_PARAM_IDENT_PT] = (XSIM_SPECIAL_PFN + 4) << 12;
        d->params[HVM_PARAM_STORE_EVTCHN] = 1;
        d->params[HVM_PARAM_CONSOLE_EVTCHN] = 2;
        d->params[HVM_PARAM_PAE_ENABLED] = 1;
        d->params[HVM_PARAM_TIMER_MODE] = 1;
        d->params[HVM_PARAM_NR_IOREQ_SERVER_PAGES] = 0;
    }
    d->tsc_mode = 0;
    d->gtsc_khz = GUEST_TSC_KHZ;
    d->incarnation = 0;
    d->elapsed_nsec = 0;
    d->nr_leaves = sizeof(default_leaves) / sizeof(default_leaves[0]);
    memcpy(d->leaves, default_leaves, sizeof(default_leaves));
    d->nr_msrs = sizeof(default_msrs) / sizeof(default_msrs[0]);
    memcpy(d->msrs, default_msrs, sizeof(default_msrs));
}

static uint8_t *put(uint8_t *p, uint16_t type, uint16_t instance, uint32_t length)
{
    struct hvm_save_descriptor desc = {type, instance, length};
    memcpy(p, &desc, DESC);
    /* Deterministic payload so a round trip through a stream is checkable. */
    for (uint32_t i = 0; i < length; i++) p[DESC + i] = (uint8_t)(type * 31 + instance * 7 + i);
    return p + DESC + length;
}

int xsim_build_hvm_context(struct xsim_domain *d)
{
    static const struct {
        uint16_t type;
        uint32_t len;
    } per_vcpu[] = {
        {HVM_SAVE_CODE_CPU, XL_SIZEOF_hvm_hw_cpu},
        {HVM_SAVE_CODE_LAPIC, XL_SIZEOF_hvm_hw_lapic},
        {HVM_SAVE_CODE_LAPIC_REGS, XL_SIZEOF_hvm_hw_lapic_regs},
        {HVM_SAVE_CODE_MTRR, XL_SIZEOF_hvm_hw_mtrr},
        {HVM_SAVE_CODE_TSC_ADJUST, XL_SIZEOF_hvm_tsc_adjust},
    };
    size_t len = DESC + XL_SIZEOF_hvm_save_header + DESC + XL_SIZEOF_hvm_hw_pit + DESC +
                 XL_SIZEOF_hvm_hw_rtc + DESC;
    for (size_t k = 0; k < sizeof(per_vcpu) / sizeof(per_vcpu[0]); k++)
        len += d->nr_vcpus * (DESC + per_vcpu[k].len);
    uint8_t *buf = malloc(len), *p = buf;
    if (!buf) return ENOMEM;

    struct hvm_save_header h = {
        .magic = HVM_FILE_MAGIC,
        .version = HVM_FILE_VERSION,
        .changeset = 0x4170000,
        .cpuid = GUEST_CPUID,
        .gtsc_khz = d->gtsc_khz,
    };
    struct hvm_save_descriptor hd = {HVM_SAVE_CODE_HEADER, 0, sizeof(h)};
    memcpy(p, &hd, DESC);
    memcpy(p + DESC, &h, sizeof(h));
    p += DESC + sizeof(h);
    /* Xen emits records type by type, each for every vcpu. */
    for (size_t k = 0; k < sizeof(per_vcpu) / sizeof(per_vcpu[0]); k++)
        for (uint32_t v = 0; v < d->nr_vcpus; v++) p = put(p, per_vcpu[k].type, (uint16_t)v, per_vcpu[k].len);
    p = put(p, HVM_SAVE_CODE_PIT, 0, XL_SIZEOF_hvm_hw_pit);
    p = put(p, HVM_SAVE_CODE_RTC, 0, XL_SIZEOF_hvm_hw_rtc);
    p = put(p, HVM_SAVE_CODE_END, 0, 0);
    free(d->hvm_ctx);
    d->hvm_ctx = buf;
    d->hvm_ctx_len = (uint32_t)(p - buf);
    return 0;
}

int xsim_validate_hvm_context(struct xsim_domain *d, const uint8_t *buf, uint32_t size)
{
    uint32_t off = 0;
    int first = 1;
    while (off + DESC <= size) {
        struct hvm_save_descriptor desc;
        memcpy(&desc, buf + off, DESC);
        off += DESC;
        if (desc.length > size - off)
            return xsim_fail(EINVAL, "xc_domain_hvm_setcontext: record %u overruns the blob", desc.typecode);
        if (first) {
            struct hvm_save_header h;
            if (desc.typecode != HVM_SAVE_CODE_HEADER || desc.length != sizeof(h))
                return xsim_fail(EINVAL, "xc_domain_hvm_setcontext: blob does not start with a HEADER");
            memcpy(&h, buf + off, sizeof(h));
            if (h.magic != HVM_FILE_MAGIC || h.version != HVM_FILE_VERSION)
                return xsim_fail(EINVAL, "xc_domain_hvm_setcontext: bad HEADER magic %#x", h.magic);
            first = 0;
        }
        if (desc.typecode == HVM_SAVE_CODE_CPU) {
            if (desc.length != XL_SIZEOF_hvm_hw_cpu)
                return xsim_fail(EINVAL, "xc_domain_hvm_setcontext: CPU record of %u bytes", desc.length);
            if (desc.instance >= d->max_vcpus)
                return xsim_fail(EINVAL, "xc_domain_hvm_setcontext: CPU record for vcpu %u >= max %u",
                                 desc.instance, d->max_vcpus);
        }
        if (desc.typecode == HVM_SAVE_CODE_END) {
            if (desc.length != 0 || off != size)
                return xsim_fail(EINVAL, "xc_domain_hvm_setcontext: END is not the last record");
            return 0;
        }
        off += desc.length;
    }
    return xsim_fail(EINVAL, "xc_domain_hvm_setcontext: no END record");
}
