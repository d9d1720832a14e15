import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncCore
import Verification

/// `verify --live`: asks the directory now for the user and the groups they are in
/// (walking up through nested groups), to tell "not in the directory either" from "in the
/// directory, not synced yet". Every filter is built with RFC 4515 escaping.
struct LiveCheck {
    let directory: DirectoryConfig
    let logger: Logger

    struct View {
        var userDN: String?
        /// Every group above the user, by normalised DN → name.
        var groups: [String: String] = [:]
    }

    /// The nesting depth the walk gives up at (a directory deeper than this is unusual).
    static let maxDepth = 32

    func look(for name: String) async throws -> View {
        let session = try await directory.openSession(logger: logger)
        do {
            let view = try await look(for: name, in: session)
            await session.close()
            return view
        } catch {
            await session.close()
            throw error
        }
    }

    private func look(for name: String, in session: LDAPSession) async throws -> View {
        let flavour = try await Self.flavour(of: self.directory, session)
        let directory = self.directory.effective(for: flavour)
        let mapping = directory.mapping(for: flavour)
        let userFilter: LDAPFilter
        var base = directory.users.base
        var scope = directory.users.scope
        if name.contains("="), (try? DistinguishedName(name)) != nil {
            base = name
            scope = .base
            userFilter = .raw(directory.users.filter)
        } else {
            let names = [mapping.username, mapping.mail] + mapping.aliases
            var alternatives = names.map { LDAPFilter.equal($0, name) }
            if mapping.aliases.contains(where: { $0.lowercased() == "proxyaddresses" }) {
                alternatives.append(.equal("proxyAddresses", "smtp:" + name))
            }
            userFilter = .and([.raw(directory.users.filter), .or(alternatives)])
        }
        var view = View()
        let users: LDAPSearchResult
        do {
            users = try await session.searchAll(LDAPSearchRequest(
                base: base, scope: scope, filter: userFilter.render(), attributes: [mapping.username], pageSize: nil, sizeLimit: 2))
        } catch let error as LDAPError where error.code == .noSuchObject && scope == .base {
            return view
        }
        guard let user = users.entries.first else { return view }
        view.userDN = user.dn
        var frontier: [LDAPFilter] = mapping.member.map { .equal($0, user.dn) }
        if let uid = user.string(mapping.username) { frontier += mapping.memberUID.map { .equal($0, uid) } }
        var depth = 0
        while !frontier.isEmpty && depth < Self.maxDepth {
            depth += 1
            let result = try await session.searchAll(LDAPSearchRequest(
                base: directory.groups.base, scope: directory.groups.scope,
                filter: LDAPFilter.and([.raw(directory.groups.filter), .or(frontier)]).render(),
                attributes: [mapping.groupName], pageSize: directory.pageSize))
            frontier = []
            for group in result.entries {
                let key = DistinguishedName.normalizedKey(group.dn) ?? group.dn.lowercased()
                guard view.groups[key] == nil else { continue }
                view.groups[key] = group.string(mapping.groupName) ?? group.dn
                frontier += mapping.member.map { .equal($0, group.dn) }
            }
        }
        return view
    }
}

extension LiveCheck {
    /// The configured flavour, or the server's when `auto`.
    static func flavour(of directory: DirectoryConfig, _ session: LDAPSession) async throws -> DirectoryFlavour {
        switch directory.flavour {
        case .openldap: .openLDAP
        case .activedirectory: .activeDirectory
        case .auto: try await session.rootDSE().flavour
        }
    }
}

extension LiveCheck.View {
    /// Whether the live groups include one that a group spec names (by DN or by name).
    func contains(anyOf specs: [String]) -> [String] {
        var matches: [String] = []
        for spec in specs {
            if spec.contains("="), let key = DistinguishedName.normalizedKey(spec) {
                if let name = groups[key] { matches.append(name) }
            } else if let match = groups.values.first(where: { $0.compare(spec, options: .caseInsensitive) == .orderedSame }) {
                matches.append(match)
            }
        }
        return matches
    }
}
