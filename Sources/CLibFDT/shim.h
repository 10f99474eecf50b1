/*
 * Swift cannot import libfdt's function-like macros. These static inline
 * functions give Swift the header getters and the sequential-write string
 * helper. Everything else in <libfdt.h> imports as is.
 */
#ifndef GRANTDT_CLIBFDT_SHIM_H
#define GRANTDT_CLIBFDT_SHIM_H

#include <libfdt.h>

static inline uint32_t grantdt_fdt_magic(const void *fdt) { return fdt_magic(fdt); }
static inline uint32_t grantdt_fdt_totalsize(const void *fdt) { return fdt_totalsize(fdt); }
static inline uint32_t grantdt_fdt_off_dt_struct(const void *fdt) { return fdt_off_dt_struct(fdt); }
static inline uint32_t grantdt_fdt_off_dt_strings(const void *fdt) { return fdt_off_dt_strings(fdt); }
static inline uint32_t grantdt_fdt_off_mem_rsvmap(const void *fdt) { return fdt_off_mem_rsvmap(fdt); }
static inline uint32_t grantdt_fdt_version(const void *fdt) { return fdt_version(fdt); }
static inline uint32_t grantdt_fdt_last_comp_version(const void *fdt) { return fdt_last_comp_version(fdt); }
static inline uint32_t grantdt_fdt_boot_cpuid_phys(const void *fdt) { return fdt_boot_cpuid_phys(fdt); }
static inline uint32_t grantdt_fdt_size_dt_strings(const void *fdt) { return fdt_size_dt_strings(fdt); }
static inline uint32_t grantdt_fdt_size_dt_struct(const void *fdt) { return fdt_size_dt_struct(fdt); }

#endif
