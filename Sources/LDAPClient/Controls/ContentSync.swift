import Foundation

/// RFC 4533 LDAP Content Synchronization: the request control a consumer sends with a
/// search, and the Sync State control (on entries), Sync Info message (intermediate
/// responses) and Sync Done control (on the result) a provider such as OpenLDAP's
/// `syncprov` overlay answers with.
public enum ContentSync {
    public static let requestOID = "1.3.6.1.4.1.4203.1.9.1.1"
    public static let stateOID = "1.3.6.1.4.1.4203.1.9.1.2"
    public static let doneOID = "1.3.6.1.4.1.4203.1.9.1.3"
    public static let infoOID = "1.3.6.1.4.1.4203.1.9.1.4"
    /// The result code (e-syncRefreshRequired) of a provider that wants a full reload.
    public static let refreshRequired: Int32 = 4096

    public enum Mode: Int64, Sendable {
        case refreshOnly = 1
        case refreshAndPersist = 3
    }

    /// The request control: critical, as RFC 4533 asks.
    public static func request(mode: Mode, cookie: [UInt8]?, reloadHint: Bool = false) -> LDAPControlValue {
        var fields = [BER.integer(mode.rawValue, tag: BER.enumerated)]
        if let cookie { fields.append(BER.octetString(cookie)) }
        if reloadHint { fields.append(BER.boolean(true)) }
        return LDAPControlValue(oid: requestOID, critical: true, value: BER.sequence(fields))
    }

    /// What an entry's Sync State control says about it.
    public struct State: Sendable, Equatable {
        public enum Kind: Int64, Sendable {
            case present = 0, add = 1, modify = 2, delete = 3
        }

        public var kind: Kind
        /// The entry's entryUUID, in its usual text form (lower-case, with dashes).
        public var uuid: String
        public var cookie: [UInt8]?
    }

    /// Reads the Sync State control among an entry's controls; nil when there is none.
    public static func state(in controls: [LDAPControlValue]) throws(BERError) -> State? {
        guard let value = controls.first(oid: stateOID)?.value else { return nil }
        var outer = BERReader(value)
        var fields = try outer.next(BER.sequence).reader
        let raw = try fields.next(BER.enumerated).integer()
        guard let kind = State.Kind(rawValue: raw) else { throw BERError("sync state \(raw)") }
        let uuid = try uuidString(try fields.next(BER.octetString).bytes)
        let cookie = try fields.optional(BER.octetString)?.bytes
        return State(kind: kind, uuid: uuid, cookie: cookie)
    }

    /// A Sync Info message.
    public enum Info: Sendable, Equatable {
        case newCookie([UInt8])
        /// The end of a delete (`refreshDelete`) or present (`refreshPresent`) phase.
        case refreshDelete(cookie: [UInt8]?, done: Bool)
        case refreshPresent(cookie: [UInt8]?, done: Bool)
        /// Many entries at once: deleted ones (`refreshDeletes`) or present ones.
        case idSet(cookie: [UInt8]?, refreshDeletes: Bool, uuids: [String])
    }

    public static func info(_ message: LDAPIntermediate) throws(BERError) -> Info? {
        guard message.oid == infoOID, let value = message.value else { return nil }
        var outer = BERReader(value)
        let element = try outer.next()
        switch element.tag {
        case 0x80:
            return .newCookie(element.bytes)
        case 0xA1, 0xA2:
            var fields = element.reader
            let cookie = try fields.optional(BER.octetString)?.bytes
            let done = try fields.optional(BER.boolean)?.boolean() ?? true
            return element.tag == 0xA1 ? .refreshDelete(cookie: cookie, done: done) : .refreshPresent(cookie: cookie, done: done)
        case 0xA3:
            var fields = element.reader
            let cookie = try fields.optional(BER.octetString)?.bytes
            let deletes = try fields.optional(BER.boolean)?.boolean() ?? false
            var set = try fields.next(BER.set).reader
            var uuids: [String] = []
            while !set.isAtEnd { uuids.append(try uuidString(try set.next(BER.octetString).bytes)) }
            return .idSet(cookie: cookie, refreshDeletes: deletes, uuids: uuids)
        default:
            throw BERError("sync info choice 0x\(String(element.tag, radix: 16))")
        }
    }

    /// What the Sync Done control says: the cookie to continue from, and whether the
    /// refresh ended with a delete phase (true) or a present phase (false: every entry
    /// neither present nor added is gone).
    public struct Done: Sendable, Equatable {
        public var cookie: [UInt8]?
        public var refreshDeletes: Bool
    }

    public static func done(in controls: [LDAPControlValue]) throws(BERError) -> Done? {
        guard let value = controls.first(oid: doneOID)?.value else { return nil }
        var outer = BERReader(value)
        var fields = try outer.next(BER.sequence).reader
        let cookie = try fields.optional(BER.octetString)?.bytes
        let deletes = try fields.optional(BER.boolean)?.boolean() ?? false
        return Done(cookie: cookie, refreshDeletes: deletes)
    }

    /// 16 bytes as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    static func uuidString(_ bytes: [UInt8]) throws(BERError) -> String {
        guard bytes.count == 16 else { throw BERError("a syncUUID of \(bytes.count) bytes") }
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }
}
