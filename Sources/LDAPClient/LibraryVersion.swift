import CLDAP

/// The libldap this process runs with (not the headers it was built against).
public enum LDAPLibrary {
    /// E.g. "OpenLDAP 2.5.13".
    public static var version: String {
        var info = LDAPAPIInfo()
        info.ldapai_info_version = 1
        guard ldap_get_option(nil, LDAP_OPT_API_INFO, &info) == LDAP_OPT_SUCCESS else { return "unknown" }
        defer {
            ldap_memfree(info.ldapai_vendor_name)
            if let extensions = info.ldapai_extensions {
                var index = 0
                while let name = extensions[index] { ldap_memfree(name); index += 1 }
                ldap_memfree(extensions)
            }
        }
        let vendor = info.ldapai_vendor_name.map { String(cString: $0) } ?? "libldap"
        let number = Int(info.ldapai_vendor_version)
        return "\(vendor) \(number / 10000).\(number / 100 % 100).\(number % 100)"
    }
}
