import LDAPClient

/// Which LDAP attributes hold what. Each flavour supplies defaults; the configuration
/// may override any of them.
public struct AttributeMapping: Sendable, Equatable {
    /// The stable id (entryUUID on OpenLDAP, objectGUID on AD, nsUniqueId on 389-DS).
    public var id: String
    public var username: String
    public var mail: String
    public var aliases: [String]
    public var displayName: String
    /// The group's name.
    public var groupName: String
    public var groupMail: String
    /// Attributes whose values are member DNs (`member`, `uniqueMember`).
    public var member: [String]
    /// Attributes whose values are member usernames (posixGroup's `memberUid`).
    public var memberUID: [String]
    /// An attribute whose presence (or value TRUE) marks a user disabled; nil for none.
    public var disabled: String?
    /// An attribute that changes whenever an entry changes (OpenLDAP's `entryCSN`): a group
    /// whose marker did not move keeps its members, so a run need not fetch them. Nil to
    /// always fetch every group's members.
    public var changeMarker: String?
    /// The id attribute holds a binary GUID (AD's `objectGUID`), rendered as a UUID string.
    public var idIsBinaryGUID = false
    /// AD: the binary SID of users and groups (`objectSid`) and the user's primary group's
    /// relative id (`primaryGroupID`): users are members of their primary group without a
    /// `member` value naming them.
    public var sid: String?
    public var primaryGroupID: String?
    /// AD: `groupType`, whose sign bit marks security groups.
    public var groupType: String?

    public init(
        id: String, username: String, mail: String, aliases: [String], displayName: String, groupName: String,
        groupMail: String, member: [String], memberUID: [String], disabled: String?, changeMarker: String? = nil
    ) {
        self.changeMarker = changeMarker
        self.id = id
        self.username = username
        self.mail = mail
        self.aliases = aliases
        self.displayName = displayName
        self.groupName = groupName
        self.groupMail = groupMail
        self.member = member
        self.memberUID = memberUID
        self.disabled = disabled
    }

    /// OpenLDAP (and other RFC 4519 directories): inetOrgPerson users; groupOfNames,
    /// groupOfUniqueNames and posixGroup groups.
    public static let openLDAP = AttributeMapping(
        id: "entryUUID", username: "uid", mail: "mail", aliases: ["mailAlternateAddress"], displayName: "cn",
        groupName: "cn", groupMail: "mail", member: ["member", "uniqueMember"], memberUID: ["memberUid"], disabled: nil,
        changeMarker: "entryCSN")

    /// Active Directory: `objectGUID` ids, `sAMAccountName`, `userPrincipalName` and
    /// `proxyAddresses` (its `smtp:` values) as aliases, disabled from `userAccountControl`
    /// (bit 2), `uSNChanged` as the change marker.
    public static let activeDirectory: AttributeMapping = {
        var mapping = AttributeMapping(
            id: "objectGUID", username: "sAMAccountName", mail: "mail", aliases: ["proxyAddresses", "userPrincipalName"],
            displayName: "displayName", groupName: "cn", groupMail: "mail", member: ["member"], memberUID: [],
            disabled: "userAccountControl", changeMarker: "uSNChanged")
        mapping.idIsBinaryGUID = true
        mapping.sid = "objectSid"
        mapping.primaryGroupID = "primaryGroupID"
        mapping.groupType = "groupType"
        return mapping
    }()

    public var userAttributes: [String] {
        var list = [id, username, mail, displayName] + aliases
        if let disabled { list.append(disabled) }
        if let sid, let primaryGroupID { list += [sid, primaryGroupID] }
        if let changeMarker { list.append(changeMarker) }
        return unique(list)
    }

    /// A user's attributes for telling whether it changed: id, username (what `memberUid`
    /// values resolve through) and change marker; the DN comes with every entry.
    public var userHeaderAttributes: [String] {
        unique([id, username] + [changeMarker].compactMap { $0 })
    }

    /// Whether users can be read as headers first, whole entries only where the marker
    /// moved: needs a change marker, and not AD's primary groups (which the builder takes
    /// from every user entry).
    public var readsUserHeaders: Bool { changeMarker != nil && primaryGroupID == nil }

    /// What the stored change markers are made under: a fingerprint of this mapping. A
    /// marker is kept as `<entryCSN>@<scope>`, so after the mapping changes (another mail
    /// attribute, another member attribute, a groupsync version that maps differently) no
    /// stored marker matches and every entry is read whole once.
    public var markerScope: String {
        String(StableHash.hex(String(describing: self)).prefix(8))
    }

    public var groupAttributes: [String] {
        unique(groupHeaderAttributes + member + memberUID)
    }

    /// A group's attributes without its members: enough to tell whether it changed.
    public var groupHeaderAttributes: [String] {
        unique([id, groupName, groupMail] + [changeMarker, sid, groupType].compactMap { $0 })
    }

    private func unique(_ list: [String]) -> [String] {
        var seen = Set<String>()
        return list.filter { seen.insert($0.lowercased()).inserted }
    }
}
