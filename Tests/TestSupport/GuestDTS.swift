/// Guest trees for end-to-end runs, written as DTS for dtc: the
/// runtime's own tests and `grantdt run`'s share them.
public enum GuestDTS {
    /// One virtio,mmio node of a guest.
    public enum Device: Sendable {
        /// `iommus = <&xen_iommu domid>`.
        case grant(UInt32)
        /// `memory-region` → the restricted pool.
        case bounce
        case direct
        /// A grant-bound i2c device (loopback).
        case i2c(UInt32)
    }

    /// A libxl-shaped guest: 256 MiB of RAM at 0x40000000, a GICv3, a
    /// 4 MiB restricted-dma-pool at 0x4f000000, the devices at libxl's
    /// bases and SPIs.
    public static func source(_ devices: [Device]) -> String {
        var nodes = ""
        for (index, device) in devices.enumerated() {
            let base = 0x0200_0000 + index * 0x200
            nodes += "    virtio@\(String(base, radix: 16)) {\n"
            nodes += "        compatible = \"virtio,mmio\";\n"
            nodes += "        reg = <0 0x\(String(base, radix: 16)) 0 0x200>;\n"
            nodes += "        interrupts = <0 \(index + 1) 0xf01>;\n        dma-coherent;\n"
            switch device {
            case .grant(let domid): nodes += "        iommus = <&xen_iommu \(domid)>;\n"
            case .bounce: nodes += "        memory-region = <&pool>;\n"
            case .direct: break
            case .i2c(let domid):
                nodes += "        iommus = <&xen_iommu \(domid)>;\n        i2c { compatible = \"virtio,device22\"; };\n"
            }
            nodes += "    };\n"
        }
        return """
            /dts-v1/;
            / {
                #address-cells = <2>;
                #size-cells = <2>;
                interrupt-parent = <&gic>;
                memory@40000000 { device_type = "memory"; reg = <0 0x40000000 0 0x10000000>; };
                gic: interrupt-controller@3001000 {
                    compatible = "arm,gic-v3"; #interrupt-cells = <3>; #address-cells = <0>; interrupt-controller;
                    reg = <0 0x3001000 0 0x10000>, <0 0x3020000 0 0x1000000>;
                };
                reserved-memory {
                    #address-cells = <2>; #size-cells = <2>; ranges;
                    pool: restricted@4f000000 { compatible = "restricted-dma-pool"; reg = <0 0x4f000000 0 0x400000>; };
                };
            \(nodes)    xen_iommu: xen_iommu { compatible = "xen,grant-dma"; #iommu-cells = <1>; phandle = <0xfde9>; };
            };
            """
    }
}
