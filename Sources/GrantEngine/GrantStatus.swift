/// Xen's grant-table operation status codes (`GNTST_*`,
/// `xen/include/public/grant_table.h`), with their numbers and names.
public enum GrantStatus: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case okay = 0
    case generalError = -1
    case badDomain = -2
    case badGntref = -3
    case badHandle = -4
    case badVirtAddr = -5
    case badDevAddr = -6
    case noDeviceSpace = -7
    case permissionDenied = -8
    case badPage = -9
    case badCopyArg = -10
    case addressTooBig = -11
    case eagain = -12
    case noSpace = -13

    /// Xen's name, e.g. `GNTST_bad_gntref`.
    public var name: String {
        switch self {
        case .okay: "GNTST_okay"
        case .generalError: "GNTST_general_error"
        case .badDomain: "GNTST_bad_domain"
        case .badGntref: "GNTST_bad_gntref"
        case .badHandle: "GNTST_bad_handle"
        case .badVirtAddr: "GNTST_bad_virt_addr"
        case .badDevAddr: "GNTST_bad_dev_addr"
        case .noDeviceSpace: "GNTST_no_device_space"
        case .permissionDenied: "GNTST_permission_denied"
        case .badPage: "GNTST_bad_page"
        case .badCopyArg: "GNTST_bad_copy_arg"
        case .addressTooBig: "GNTST_address_too_big"
        case .eagain: "GNTST_eagain"
        case .noSpace: "GNTST_no_space"
        }
    }

    public var description: String { "\(name) (\(rawValue))" }
}
