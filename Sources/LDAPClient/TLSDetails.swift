import CLDAP

/// What a connection's TLS session is: protocol, cipher, and the server's certificate (DER).
public struct TLSDetails: Sendable, Equatable {
    public var version: String?
    public var cipher: String?
    public var peerCertificate: [UInt8]?
}

extension LDAPConnection {
    func tlsDetails() throws -> TLSDetails? {
        var session: UnsafeMutableRawPointer?
        ldap_get_option(handle, LDAP_OPT_X_TLS_SSL_CTX, &session)
        guard session != nil else { return nil }
        func string(_ option: Int32) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard ldap_get_option(handle, option, &value) == LDAP_OPT_SUCCESS, let value else { return nil }
            defer { ldap_memfree(value) }
            return String(cString: value)
        }
        var certificate = berval(bv_len: 0, bv_val: nil)
        var der: [UInt8]?
        if ldap_get_option(handle, LDAP_OPT_X_TLS_PEERCERT, &certificate) == LDAP_OPT_SUCCESS, certificate.bv_val != nil {
            der = bytes(certificate)
            ber_memfree(certificate.bv_val)
        }
        return TLSDetails(version: string(LDAP_OPT_X_TLS_VERSION), cipher: string(LDAP_OPT_X_TLS_CIPHER), peerCertificate: der)
    }
}
