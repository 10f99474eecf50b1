/// The keys one version's xl parser reads (`xl_parse.c`): any other key is
/// ignored without a word. Taken from the 4.17–4.22 sources.
struct KnownKeys {
    enum Status: Equatable {
        case known
        /// Read only from this version on.
        case notYet(since: XenVersion)
        case unknown
    }

    let version: XenVersion
    /// The tables, fetched once: every read of a global costs a `swift_once` call.
    private let readSince417 = Self.introducedIn417
    private let introduced = Self.introducedLater

    init(version: XenVersion) { self.version = version }

    func status(of key: String) -> Status {
        // Most keys in a config are old ones: one lookup decides them.
        if readSince417.contains(key) { return .known }
        guard let since = introduced[key] else { return .unknown }
        return version >= since ? .known : .notYet(since: since)
    }

    /// The known key closest to `key` by edit distance, when close enough to be a likely typo.
    func suggestion(for key: String) -> String? {
        EditDistance.closest(to: key, in: known, limit: key.utf8.count <= 4 ? 1 : 2)
    }

    /// Every key this version's xl reads.
    private var known: [String] {
        Array(readSince417) + introduced.filter { $0.value <= version }.map(\.key)
    }

    /// Keys added after 4.17, with the first version whose xl reads them.
    private static let introducedLater: [String: XenVersion] = {
        var table: [String: XenVersion] = [:]
        let added: [(Int, [String])] = [
            (18, ["bootloader_restrict", "bootloader_user", "smbios", "sve", "virtio"]),
            (19, ["hvm_pirq", "nr_spis"]),
            (20, ["llc_colors"]),
            (21, ["altp2m_count", "arm_sci", "trap_unmapped_accesses", "xen_platform_pci_bar_uc", "xenstore_feature_mask"]),
            (22, ["xenstore_quota"]),
        ]
        for (minor, keys) in added {
            for key in keys { table[key] = XenVersion(major: 4, minor: minor) }
        }
        return table
    }()

    /// Keys every supported xl (4.17 on) reads.
    private static let introducedIn417: Set<String> = [
        "acpi", "acpi_firmware", "acpi_laptop_slate", "acpi_s3", "acpi_s4", "altp2m", "altp2mhvm", "apic", "bios",
        "bios_path_override", "boot", "bootloader", "bootloader_args", "builder", "cap", "channel", "cmdline",
        "cpu_weight", "cpuid", "cpus", "cpus_soft", "device_model", "device_model_args", "device_model_args_hvm",
        "device_model_args_pv", "device_model_override", "device_model_stubdomain_override",
        "device_model_stubdomain_seclabel", "device_model_user", "device_model_version", "device_tree", "disk",
        "display", "dm_restrict", "driver_domain", "dtdev", "e820_host", "extra", "extratime", "firmware",
        "firmware_override", "gfx_passthru", "gic_version", "hap", "hdtype", "hpet", "init_seclabel", "iomem",
        "ioports", "irqs", "kernel", "keymap", "latency", "localtime", "max_event_channels", "max_grant_frames",
        "max_grant_version", "max_maptrack_frames", "maxmem", "maxvcpus", "mca_caps", "memory", "mmio_hole",
        "ms_vm_genid", "msr_relaxed", "name", "nestedhvm", "nographic", "nomigrate", "nx", "on_crash", "on_poweroff",
        "on_reboot", "on_soft_reset", "on_watchdog", "oos", "opengl", "p9", "pae", "passthrough", "pci",
        "pci_msitranslate", "pci_permissive", "pci_power_mgmt", "pci_seize", "period", "pool", "pvcalls", "pvshim",
        "pvshim_cmdline", "pvshim_extra", "pvshim_path", "ramdisk", "rdm", "rdm_mem_boundary", "root",
        "rtc_timeoffset", "sdl", "seclabel", "serial", "shadow_memory", "slice", "smbios_firmware", "soundhw",
        "spice", "spice_clipboard_sharing", "spice_image_compression", "spice_streaming_video", "spiceagent_mouse",
        "spicedisable_ticketing", "spicehost", "spicepasswd", "spiceport", "spicetls_port", "spiceusbredirection",
        "spicevdagent", "stdvga", "stubdomain_cmdline", "stubdomain_kernel", "stubdomain_memory",
        "stubdomain_ramdisk", "tee", "timer_mode", "tsc_mode", "type", "usb", "usbctrl", "usbdev", "usbdevice",
        "usbversion", "uuid", "vcpus", "vdispl", "vendor_device", "vfb", "vga", "videoram", "vif", "vif2",
        "viridian", "vkb", "vkb_device", "vmtrace_buf_kb", "vnc", "vncdisplay", "vnclisten", "vncpasswd",
        "vncunused", "vncviewer", "vnuma", "vpmu", "vpt_align", "vsnd", "vtpm", "vuart", "xauthority",
        "xen_platform_pci", "xend_suspend_evtchn_compat",
    ]
}

/// Levenshtein distance over bytes, for "did you mean" hints.
enum EditDistance {
    /// The distance between `first` and `second`, or nil when it exceeds `limit`
    /// (found early: lengths too far apart, or a row already over the limit).
    static func within(_ first: [UInt8], _ second: [UInt8], limit: Int) -> Int? {
        guard abs(first.count - second.count) <= limit else { return nil }
        guard !first.isEmpty, !second.isEmpty else { return max(first.count, second.count) }
        var previous = Array(0...second.count)
        var current = previous
        for i in 1...first.count {
            current[0] = i
            var best = i
            for j in 1...second.count {
                let substitution = previous[j - 1] + (first[i - 1] == second[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                best = min(best, current[j])
            }
            guard best <= limit else { return nil }
            swap(&previous, &current)
        }
        return previous[second.count] <= limit ? previous[second.count] : nil
    }

    /// The candidate closest to `word` within `limit` edits (ties: alphabetical).
    static func closest(to word: String, in candidates: [String], limit: Int) -> String? {
        let target = Array(word.utf8)
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            guard let distance = within(Array(candidate.utf8), target, limit: limit) else { continue }
            if let current = best, (current.distance, current.name) <= (distance, candidate) { continue }
            best = (candidate, distance)
        }
        return best?.name
    }
}
