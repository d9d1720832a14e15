/// An LDAP control (RFC 4511 §4.1.11) as sent with a request or received with an entry, an
/// intermediate response or a result: its OID, criticality and BER-encoded value.
public struct LDAPControlValue: Sendable, Hashable {
    public var oid: String
    public var critical: Bool
    public var value: [UInt8]?

    public init(oid: String, critical: Bool = false, value: [UInt8]? = nil) {
        self.oid = oid
        self.critical = critical
        self.value = value
    }
}

extension Array where Element == LDAPControlValue {
    /// The first control with this OID.
    public func first(oid: String) -> LDAPControlValue? {
        first { $0.oid == oid }
    }
}

/// An intermediate response (RFC 4511 §4.13) received during a search, e.g. RFC 4533's
/// Sync Info message.
public struct LDAPIntermediate: Sendable, Hashable {
    public var oid: String?
    public var value: [UInt8]?

    public init(oid: String?, value: [UInt8]?) {
        self.oid = oid
        self.value = value
    }
}
