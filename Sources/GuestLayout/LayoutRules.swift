import Diagnostics

/// Every finding of the layout stage: what libxl, the domain builder or
/// Xen would refuse when building the guest, what the files the config
/// names say, and problems of a layout template.
public enum LayoutRules {
    // MARK: Guest settings libxl or Xen refuses

    public static let typeHVM = Rule(
        "GUEST-TYPE-HVM", .error,
        summary: "`type = \"hvm\"`: libxl builds Arm guests as PVH only (`Unsupported Arm guest type hvm`)",
        fix: "remove `type=` or set `type = \"pvh\"`")
    public static let vcpusGIC = Rule(
        "GUEST-VCPUS-GIC", .error,
        summary: "more vCPUs than the virtual GIC supports (8 with GICv2, 128 with GICv3); Xen refuses the domain",
        fix: "lower `maxvcpus` (or `vcpus`), or use GICv3")
    public static let virtioSPIExhausted = Rule(
        "GUEST-VIRTIO-SPI-EXHAUSTED", .error,
        summary: "more virtio-mmio devices than SPIs reserved for them (11): `Ran out of reserved range for Virtio MMIO IRQ`",
        fix: "use at most 11 virtio-mmio devices (virtio disks and `virtio=` entries with `transport=mmio` together)")
    public static let virtioMMIOExhausted = Rule(
        "GUEST-VIRTIO-MMIO-EXHAUSTED", .error,
        summary: "the virtio-mmio window has no room for another device: `Ran out of reserved range for Virtio MMIO BASE`",
        fix: "use fewer virtio-mmio devices")
    public static let virtioTypeInvalid = Rule(
        "GUEST-VIRTIO-TYPE-INVALID", .error,
        summary: "a `virtio=` device with `transport=mmio` whose `type` does not start with `virtio,device` (often a type xl glued to the next item, `virtio, device22`): `Invalid type for virtio device`",
        fix: "write `type=virtio,device<ID>` with the virtio device ID in lowercase hex, e.g. `type=virtio,device22`")
    public static let virtioTypeMissing = Rule(
        "GUEST-VIRTIO-TYPE-MISSING", .error,
        summary: "a `virtio=` device with `transport=mmio` and no `type=`: xl passes NULL to strcmp and crashes",
        fix: "add `type=virtio,device<ID>` to the entry")
    public static let irqOnVuart = Rule(
        "GUEST-IRQ-VUART", .error,
        summary: "a passthrough `irqs=` entry is the vpl011 SPI while `vuart` is on: `Physical IRQ conflicting with pl011 SPI`",
        fix: "drop the interrupt from `irqs=` or turn the vuart off")
    public static let irqOnVirtio = Rule(
        "GUEST-IRQ-VIRTIO", .error,
        summary: "a passthrough `irqs=` entry is an SPI given to a virtio-mmio device: `Physical IRQ conflicting with Virtio MMIO IRQ range`",
        fix: "drop the interrupt from `irqs=` or use fewer virtio-mmio devices")
    public static let nrSpisTooSmall = Rule(
        "GUEST-NR-SPIS-TOO-SMALL", .error,
        summary: "`nr_spis` is below what the vuart, virtio devices and `irqs=` need (Xen 4.21+): `Provided nr_spis value is too small`",
        fix: "raise `nr_spis` or remove it")
    public static let ramSize = Rule(
        "GUEST-RAM-SIZE", .error,
        summary: "guest RAM (`maxmem`, else `memory`) is 0 or larger than all guest RAM banks together",
        fix: "set `memory` (and `maxmem`) between 1 MiB and the RAM banks' total (1019 GiB)")
    public static let modulesNoRoom = Rule(
        "GUEST-MODULES-NO-ROOM", .error,
        summary: "kernel, ramdisk and device tree do not fit in the first RAM bank (the domain builder fails)",
        fix: "give the guest more RAM or use a smaller ramdisk")
    public static let treeTooLarge = Rule(
        "GUEST-TREE-TOO-LARGE", .error,
        summary: "the device tree libxl would build exceeds its 1 MiB limit (`FDT_MAX_SIZE`)",
        fix: "use fewer vCPUs or a smaller partial device tree")
    public static let noExtendedRegions = Rule(
        "GUEST-NO-EXTENDED-REGIONS", .warning,
        summary: "no unused guest-physical range of 64 MiB or more: the `hypervisor` node gets no extended region",
        fix: "check `--gpaddr-bits`; with no extended region Linux balloons out RAM for foreign and grant mappings")

    // MARK: Files named by the config

    public static let kernelUnreadable = Rule(
        "GUEST-KERNEL-UNREADABLE", .error,
        summary: "the `kernel` file exists but cannot be read",
        fix: "check the path and its permissions")
    public static let kernelFormat = Rule(
        "GUEST-KERNEL-FORMAT", .error,
        summary: "the `kernel` file is not an arm64 Image or arm32 zImage (plain or gzip): the domain builder finds no loader",
        fix: "point `kernel` at an Image/zImage, or pass `--arch` to lay out anyway")
    public static let kernelAssumed = Rule(
        "GUEST-KERNEL-ASSUMED", .note,
        summary: "no `kernel` file: the layout assumes a kernel of `--kernel-size` bytes at the start of RAM",
        fix: "make the kernel file available for exact addresses (without it, `--kernel-size` and `--arch` set the kernel assumed)")
    public static let archOverride = Rule(
        "GUEST-ARCH-OVERRIDE", .warning,
        summary: "`--arch` disagrees with the kernel image header, or overrides a header grantdt cannot read",
        fix: "drop `--arch` to use the kernel's own architecture")
    public static let ramdiskMissing = Rule(
        "GUEST-RAMDISK-MISSING", .error,
        summary: "the `ramdisk` file cannot be read, so the initrd addresses cannot be computed",
        fix: "make the ramdisk file available or pass `--ramdisk-size BYTES`")
    public static let ramdiskAssumed = Rule(
        "GUEST-RAMDISK-ASSUMED", .note,
        summary: "no `ramdisk` file: the initrd placement uses `--ramdisk-size`",
        fix: "make the ramdisk file available for exact addresses")
    public static let partialUnreadable = Rule(
        "GUEST-PARTIAL-DT-UNREADABLE", .error,
        summary: "the `device_tree` file cannot be read",
        fix: "check the path and its permissions")
    public static let partialInvalid = Rule(
        "GUEST-PARTIAL-DT-INVALID", .error,
        summary: "the `device_tree` file is not a valid device tree blob (checked more strictly than libxl does)",
        fix: "compile the partial device tree with dtc")
    public static let partialNoPassthrough = Rule(
        "GUEST-PARTIAL-DT-NO-PASSTHROUGH", .error,
        summary: "the partial device tree has no `/passthrough` node: `Can't copy the node \"/passthrough\" from the partial FDT`",
        fix: "put the passthrough devices under a root node named exactly `passthrough`")
    public static let partialPhandleClash = Rule(
        "GUEST-PARTIAL-DT-PHANDLE-CLASH", .error,
        summary: "a copied node's phandle is the GIC's (0xfde8) or the IOMMU's (0xfde9), or repeats another copied node's",
        fix: "renumber the partial tree's phandles (dtc numbers them from 1 when they are not pinned)")
    public static let partialDangling = Rule(
        "GUEST-PARTIAL-DT-DANGLING", .error,
        summary: "a copied property refers to a phandle no node of the guest tree carries (only `/passthrough` and `/aliases` are copied)",
        fix: "move the referenced node under `/passthrough`, or refer to the GIC as 0xfde8")
    public static let partialAlias = Rule(
        "GUEST-PARTIAL-DT-ALIAS", .warning,
        summary: "an `/aliases` entry names a path that is not in the guest tree",
        fix: "point the alias at a node under `/passthrough`")
    public static let partialBus = Rule(
        "GUEST-PARTIAL-DT-BUS", .warning,
        summary: "`/passthrough` lacks `compatible = \"simple-bus\"`, `ranges`, `#address-cells` or `#size-cells`, so the guest may not probe its children",
        fix: "give `/passthrough` the four properties docs/misc/arm/passthrough.txt asks for")

    // MARK: Layout templates

    public static let templateSyntax = Rule(
        "GUEST-TEMPLATE-SYNTAX", .error,
        summary: "a layout template line is not `[section]` or `key = value`",
        fix: "see templates/README.md for the format")
    public static let templateKey = Rule(
        "GUEST-TEMPLATE-KEY", .error,
        summary: "a layout template has an unknown or repeated section or key",
        fix: "see templates/README.md for the sections and keys")
    public static let templateValue = Rule(
        "GUEST-TEMPLATE-VALUE", .error,
        summary: "a layout template value is malformed, out of range or overlaps another region",
        fix: "see templates/README.md for each key's values")
    public static let templateMissing = Rule(
        "GUEST-TEMPLATE-MISSING", .error,
        summary: "a layout template lacks a required section or key",
        fix: "start from templates/libxl-arm.layout")
    public static let templateVersion = Rule(
        "GUEST-TEMPLATE-VERSION", .error,
        summary: "the layout template has no rules for the requested `--xen-version`",
        fix: "add a [xen X.Y] section at or below that version")

    /// Every rule, for the README table and the tests.
    public static let all: [Rule] = [
        typeHVM, vcpusGIC, virtioSPIExhausted, virtioMMIOExhausted, virtioTypeInvalid, virtioTypeMissing,
        irqOnVuart, irqOnVirtio, nrSpisTooSmall, ramSize, modulesNoRoom, treeTooLarge,
        noExtendedRegions,
        kernelUnreadable, kernelFormat, kernelAssumed, archOverride, ramdiskMissing, ramdiskAssumed,
        partialUnreadable, partialInvalid, partialNoPassthrough, partialPhandleClash, partialDangling, partialAlias,
        partialBus,
        templateSyntax, templateKey, templateValue, templateMissing, templateVersion,
    ]
}
