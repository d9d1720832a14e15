import LDAPClient

/// One write as OpenLDAP's `accesslog` overlay records it (an `auditWriteObject` entry):
/// the entry it changed (`reqEntryUUID`), the operation (`reqType`), the change's CSN
/// (`entryCSN`) and, for a modify, each modification (`reqMod`, `attribute:op value`).
public struct AccessLogRecord: Sendable, Equatable {
    public var entryID: String
    public var type: String
    public var csn: String
    public var modifications: [String]

    public init(entryID: String, type: String, csn: String, modifications: [String]) {
        self.entryID = entryID.lowercased()
        self.type = type.lowercased()
        self.csn = csn
        self.modifications = modifications
    }

    /// Nil for an entry that is not a write record (no entry id, type or CSN).
    public init?(entry: LDAPEntry) {
        guard let id = entry.string("reqEntryUUID"), let type = entry.string("reqType"), let csn = entry.string("entryCSN") else { return nil }
        self.init(entryID: id, type: type, csn: csn, modifications: entry.strings("reqMod"))
    }

    /// The attributes a request to the log asks for.
    public static let attributes = ["reqEntryUUID", "reqType", "entryCSN", "reqMod"]
}

/// One `reqMod` value: `member:+ uid=a,ou=people,…` — attribute, operation (`+` add,
/// `-` delete, `=` replace, `#` increment) and a value, absent for "delete every value" or
/// "replace with nothing".
public struct AccessLogModification: Sendable, Equatable {
    public var attribute: String
    public var operation: Character
    public var value: String?

    public init(attribute: String, operation: Character, value: String?) {
        self.attribute = attribute.lowercased()
        self.operation = operation
        self.value = value
    }

    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let attribute = text[..<colon]
        let rest = text[text.index(after: colon)...]
        guard !attribute.isEmpty, let operation = rest.first, "+-=#".contains(operation) else { return nil }
        self.attribute = attribute.lowercased()
        self.operation = operation
        let after = rest.dropFirst()
        if after.isEmpty {
            value = nil
        } else {
            guard after.first == " " else { return nil }
            value = String(after.dropFirst())
        }
    }
}

/// The member values an access log says changed in some groups, replayed in CSN order:
/// for each group, each member value's DN key and whether the group holds it after the
/// last record. Usable only when every record of those groups is a modify that adds or
/// deletes single member values (besides the operational attributes a modify sets), and
/// every group has at least one record; anything else — a rename, a replaced member list,
/// another attribute, a `memberUid` value — is a reason to read the groups whole.
public struct AccessLogMemberChanges: Sendable, Equatable {
    /// Group id → member DN key → present after the changes.
    public var values: [String: [String: Bool]] = [:]
    /// Group id → the change marker's last value in the log (`entryCSN`), where the mapping has one.
    public var markers: [String: String] = [:]

    public init(values: [String: [String: Bool]] = [:], markers: [String: String] = [:]) {
        self.values = values
        self.markers = markers
    }

    /// Attributes a modify sets by itself: not a change of the group.
    static let operational: Set<String> = ["entrycsn", "modifiersname", "modifytimestamp"]

    public struct Unusable: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// - Parameters:
    ///   - records: the log's records in any order; those of other entries are ignored.
    ///   - groups: the ids of the groups that changed.
    ///   - memberAttributes: the attributes whose values are member DNs.
    ///   - marker: the change-marker attribute, nil for none.
    public static func replay(
        _ records: [AccessLogRecord], groups: Set<String>, memberAttributes: [String], marker: String?
    ) -> Result<AccessLogMemberChanges, Unusable> {
        let members = Set(memberAttributes.map { $0.lowercased() })
        let marker = marker?.lowercased()
        var changes = AccessLogMemberChanges()
        var buffer: [UInt8] = []
        for record in records.filter({ groups.contains($0.entryID) }).sorted(by: { $0.csn < $1.csn }) {
            let group = record.entryID
            guard record.type == "modify" else {
                return .failure(Unusable(reason: "group \(group) had a \(record.type) operation"))
            }
            var values = changes.values[group] ?? [:]
            for text in record.modifications {
                guard let modification = AccessLogModification(text) else {
                    return .failure(Unusable(reason: "group \(group) has a modification the log wrote as \"\(text)\""))
                }
                if modification.attribute == marker, modification.operation == "=", let value = modification.value {
                    changes.markers[group] = value
                }
                if operational.contains(modification.attribute) { continue }
                guard members.contains(modification.attribute) else {
                    return .failure(Unusable(reason: "group \(group) had \(modification.attribute) changed"))
                }
                guard modification.operation == "+" || modification.operation == "-", let value = modification.value else {
                    return .failure(Unusable(reason: "group \(group) had its \(modification.attribute) values replaced or all deleted"))
                }
                guard DistinguishedName.normalize(SnapshotBuilder.stripOptionalUID(ArraySlice(value.utf8)), into: &buffer) else {
                    return .failure(Unusable(reason: "group \(group) had a member value that is not a DN: \(value)"))
                }
                values[String(decoding: buffer, as: UTF8.self)] = modification.operation == "+"
            }
            changes.values[group] = values
        }
        if let missing = groups.subtracting(changes.values.keys).min() {
            return .failure(Unusable(reason: "group \(missing) changed, but the log has no record of it"))
        }
        if marker != nil, let missing = groups.subtracting(changes.markers.keys).min() {
            return .failure(Unusable(reason: "the log gives no new change marker for group \(missing)"))
        }
        return .success(changes)
    }
}
