import Foundation
import GRDB
import SyncCore

/// A row of `user`.
struct UserRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "user"

    var directory: String
    var id: String
    var dn: String
    var username: String?
    var mail: String?
    var aliases: [String]
    var displayName: String?
    var disabled: Bool

    enum CodingKeys: String, CodingKey {
        case directory, id, dn, username, mail, aliases, disabled
        case displayName = "display_name"
    }

    enum Columns {
        static let directory = Column(CodingKeys.directory)
        static let id = Column(CodingKeys.id)
    }

    init(directory: String, _ user: DirectoryUser) {
        self.directory = directory
        id = user.id
        dn = user.dn
        username = user.username
        mail = user.mail
        aliases = user.aliases
        displayName = user.displayName
        disabled = user.disabled
    }

    var user: DirectoryUser {
        DirectoryUser(id: id, dn: dn, username: username, mail: mail, aliases: aliases, displayName: displayName, disabled: disabled)
    }
}

/// A row of `group`.
struct GroupRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "group"

    var directory: String
    var id: String
    var dn: String
    var name: String
    var mail: String?

    enum Columns {
        static let directory = Column(CodingKeys.directory)
        static let id = Column(CodingKeys.id)
    }

    init(directory: String, _ group: DirectoryGroup) {
        self.directory = directory
        id = group.id
        dn = group.dn
        name = group.name
        mail = group.mail
    }

    var group: DirectoryGroup { DirectoryGroup(id: id, dn: dn, name: name, mail: mail) }
}
