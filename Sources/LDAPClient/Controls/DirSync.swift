/// Active Directory's DirSync control (MS-ADTS 3.1.1.3.4.1.3, OID 1.2.840.113556.1.4.841):
/// a search from a naming context's root that returns only the objects changed since the
/// cookie, deleted ones included (`isDeleted: TRUE`). Needs the "Replicating Directory
/// Changes" right; cannot be combined with paging.
public enum DirSync {
    public static let oid = "1.2.840.113556.1.4.841"

    /// Flags of the request. Only the ones groupsync uses.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: Int64
        public init(rawValue: Int64) { self.rawValue = rawValue }
        /// Returns only what the caller may read, letting accounts without the replication
        /// right use the control.
        public static let objectSecurity = Flags(rawValue: 0x1)
        public static let ancestorsFirstOrder = Flags(rawValue: 0x800)
    }

    /// The request control: critical, as the protocol asks.
    public static func request(cookie: [UInt8]?, flags: Flags = [], maxBytes: Int64 = 0) -> LDAPControlValue {
        let value = BER.sequence([BER.integer(flags.rawValue), BER.integer(maxBytes), BER.octetString(cookie ?? [])])
        return LDAPControlValue(oid: oid, critical: true, value: value)
    }

    /// What the server says with the result: whether more changes wait, and the cookie to
    /// continue from.
    public struct Response: Sendable, Equatable {
        public var moreResults: Bool
        public var cookie: [UInt8]

        public init(moreResults: Bool, cookie: [UInt8]) {
            self.moreResults = moreResults
            self.cookie = cookie
        }
    }

    /// Reads the response control among a result's controls; nil when there is none.
    public static func response(in controls: [LDAPControlValue]) throws(BERError) -> Response? {
        guard let control = controls.first(oid: oid), let value = control.value else { return nil }
        var outer = BERReader(value)
        var fields = try outer.next(BER.sequence).reader
        let more = try fields.next(BER.integer).integer()
        _ = try fields.next(BER.integer)
        let cookie = try fields.next(BER.octetString).bytes
        return Response(moreResults: more != 0, cookie: cookie)
    }
}

/// Active Directory's show-deleted control (OID 1.2.840.113556.1.4.417): searches also
/// return tombstones (`isDeleted: TRUE`) from `CN=Deleted Objects`.
public enum ShowDeleted {
    public static let oid = "1.2.840.113556.1.4.417"
    public static let request = LDAPControlValue(oid: oid, critical: true, value: nil)
}
