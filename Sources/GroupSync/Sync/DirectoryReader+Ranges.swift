import LDAPClient
import SyncCore

/// Active Directory cuts `member` short for large groups (`member;range=0-1499`); such an
/// entry is set aside while the group search streams on, and completed range by range
/// afterwards (a second operation on the same connection mid-search is avoided).
extension DirectoryReader {
    /// Adds a group, or keeps it for ``addRangedGroups(_:into:session:)`` when the server
    /// returned only a range of one of its attributes.
    func addGroup(_ entry: LDAPEntry, to builder: inout SnapshotBuilder, ranged: inout [LDAPEntry]) throws {
        if entry.rangedAttributes.isEmpty {
            try builder.addGroup(entry)
        } else {
            ranged.append(entry)
        }
    }

    /// ``addGroup(_:to:ranged:)`` through a batch (``GroupBatch``), for searches that
    /// stream many groups; the caller flushes the batch at the end.
    func addGroup(_ entry: LDAPEntry, to builder: inout SnapshotBuilder, batch: inout GroupBatch, ranged: inout [LDAPEntry]) throws {
        if entry.rangedAttributes.isEmpty {
            try batch.add(entry, to: &builder)
        } else {
            ranged.append(entry)
        }
    }

    func addRangedGroups(_ entries: [LDAPEntry], into builder: inout SnapshotBuilder, session: LDAPSession) async throws {
        for entry in entries {
            try builder.addGroup(try await Self.completeRanges(of: entry, session: session))
        }
        if !entries.isEmpty { logger.debug("groups read in ranges", metadata: ["count": "\(entries.count)"]) }
    }

    /// The entry with each ranged attribute (`member;range=0-1499`) replaced by the whole
    /// attribute (`member`), the missing ranges read from the server.
    public static func completeRanges(of entry: LDAPEntry, session: LDAPSession) async throws -> LDAPEntry {
        var attributes: [LDAPAttribute] = []
        for attribute in entry.attributes {
            guard let range = AttributeRange(attribute.name) else {
                attributes.append(attribute)
                continue
            }
            var values = attribute.values
            if let high = range.high {
                values += try await session.readRanged(dn: entry.dn, attribute: range.attribute, from: high + 1)
            }
            attributes.append(LDAPAttribute(name: range.attribute, values: values))
        }
        return LDAPEntry(dn: entry.dn, attributes: attributes)
    }
}
