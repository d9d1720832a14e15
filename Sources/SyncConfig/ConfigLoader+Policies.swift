import Foundation
import Verification

/// The sections beside the directories: profile groups, relay profiles, policies, intents,
/// and the daemon's server. References between them are checked here; references to
/// directory groups and users are checked against the snapshot later (lint), since a group
/// missing from the directory is a finding, not a broken configuration.
extension Reader {
    func policySet(_ fields: ConfigNode.Fields) throws(ConfigError) -> PolicySet {
        var set = PolicySet()
        var nodes: [String: ConfigNode] = [:]
        for item in try fields["profile_groups"]?.items() ?? [] {
            let itemFields = try item.fields(["name", "members"])
            let name = try itemFields.require("name").nonEmptyString()
            guard set.profileGroup(named: name) == nil else { throw item.error("two profile groups are named \"\(name)\"; names must be unique") }
            set.profileGroups.append(ProfileGroup(name: name, members: try memberSpecs(try itemFields.require("members"))))
            nodes[name.lowercased()] = item
        }
        for item in try fields["relay_profiles"]?.items() ?? [] {
            let itemFields = try item.fields(["name", "domains", "addresses", "senders"])
            let name = try itemFields.require("name").nonEmptyString()
            guard set.relayProfile(named: name) == nil else { throw item.error("two relay profiles are named \"\(name)\"; names must be unique") }
            let domains = try itemFields["domains"]?.strings() ?? []
            for domain in domains where domain.contains("@") { throw itemFields["domains"]!.error("\"\(domain)\" is an address, not a domain") }
            let addresses = try itemFields["addresses"]?.strings() ?? []
            for address in addresses where !address.contains("@") { throw itemFields["addresses"]!.error("\"\(address)\" is not an address") }
            set.relayProfiles.append(RelayProfile(
                name: name, domains: domains, addresses: addresses, senders: try memberSpecs(try itemFields.require("senders"))))
            nodes["relay:" + name.lowercased()] = item
        }
        for item in try fields["policies"]?.items() ?? [] {
            let policy = try self.policy(item)
            guard set.policy(named: policy.name) == nil else { throw item.error("two policies are named \"\(policy.name)\"; names must be unique") }
            set.policies.append(policy)
            nodes["policy:" + policy.name.lowercased()] = item
        }
        for item in try fields["intents"]?.items() ?? [] {
            let intent = try self.intent(item)
            guard !set.intents.contains(where: { $0.name.lowercased() == intent.name.lowercased() }) else {
                throw item.error("two intents are named \"\(intent.name)\"; names must be unique")
            }
            for target in intent.expect {
                if case .policy(let name) = target, set.policy(named: name) == nil {
                    throw item.error("expects policy \"\(name)\", which is not defined; policies: \(list(set.policies.map(\.name)))")
                }
                if case .profileGroup(let name) = target, set.profileGroup(named: name) == nil {
                    throw item.error("expects profile group \"\(name)\", which is not defined; profile groups: \(list(set.profileGroups.map(\.name)))")
                }
            }
            set.intents.append(intent)
        }
        // Every profile group a member list names must exist, and profile groups must not contain themselves.
        func checkReferences(_ specs: [MemberSpec], in node: ConfigNode?) throws(ConfigError) {
            for case .profileGroup(let name) in specs where set.profileGroup(named: name) == nil {
                throw (node ?? fields.parent).error("names profile group \"\(name)\", which is not defined; profile groups: \(list(set.profileGroups.map(\.name)))")
            }
        }
        for group in set.profileGroups { try checkReferences(group.members, in: nodes[group.name.lowercased()]) }
        for relay in set.relayProfiles { try checkReferences(relay.senders, in: nodes["relay:" + relay.name.lowercased()]) }
        for policy in set.policies { try checkReferences(policy.targets, in: nodes["policy:" + policy.name.lowercased()]) }
        for group in set.profileGroups {
            if let cycle = cycle(from: group.name, in: set) {
                throw nodes[group.name.lowercased()]!.error("profile groups contain each other: \(cycle.joined(separator: " → "))")
            }
        }
        return set
    }

    private func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }

    private func cycle(from start: String, in set: PolicySet) -> [String]? {
        func walk(_ name: String, _ path: [String]) -> [String]? {
            guard let group = set.profileGroup(named: name) else { return nil }
            for case .profileGroup(let inner) in group.members {
                if inner.lowercased() == start.lowercased() { return path + [inner] }
                if path.contains(where: { $0.lowercased() == inner.lowercased() }) { continue }
                if let found = walk(inner, path + [inner]) { return found }
            }
            return nil
        }
        return walk(start, [start])
    }

    func memberSpecs(_ node: ConfigNode) throws(ConfigError) -> [MemberSpec] {
        var specs: [MemberSpec] = []
        for item in try node.items() { specs.append(try memberSpec(item)) }
        return specs
    }

    /// `- group: cn=…` | `- user: …` | `- address: …` | `- domain: …` | `- profile_group: …`
    func memberSpec(_ node: ConfigNode) throws(ConfigError) -> MemberSpec {
        let fields = try node.fields(["group", "user", "address", "domain", "profile_group"])
        guard fields.values.count == 1, let (key, value) = fields.values.first else {
            throw node.error("give exactly one of group, user, address, domain or profile_group")
        }
        let text = try value.nonEmptyString()
        switch key {
        case "group":
            if text.contains("=") { try checkDN(text, value) }
            return .group(text)
        case "user": return .user(text)
        case "address":
            guard text.contains("@") else { throw value.error("\"\(text)\" is not an address (user@domain)") }
            return .address(text)
        case "domain":
            guard !text.contains("@"), !text.contains(" ") else { throw value.error("\"\(text)\" is not a domain") }
            return .domain(text)
        default: return .profileGroup(text)
        }
    }

    func policy(_ node: ConfigNode) throws(ConfigError) -> Policy {
        let fields = try node.fields(["name", "type", "applies_to", "targets", "everyone"])
        let name = try fields.require("name").nonEmptyString()
        let typeNode = try fields.require("type")
        let typeText = try typeNode.nonEmptyString()
        guard let type = Policy.Kind(rawValue: typeText) else {
            throw typeNode.error("unknown policy type \"\(typeText)\"; expected one of: \(Policy.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var appliesTo = Policy.AppliesTo.both
        if let node = fields["applies_to"] {
            let text = try node.nonEmptyString()
            guard let value = Policy.AppliesTo(rawValue: text) else { throw node.error("expected senders, recipients or both, found \"\(text)\"") }
            appliesTo = value
        }
        let everyone = try fields["everyone"]?.bool()
        let targets = try fields["targets"].map { node throws(ConfigError) in try memberSpecs(node) } ?? []
        if everyone == true && !targets.isEmpty { throw node.error("give either everyone: true or targets, not both") }
        if everyone == false && targets.isEmpty { throw node.error("everyone: false needs targets") }
        if fields["targets"] != nil && targets.isEmpty { throw fields["targets"]!.error("an empty target list would apply to nobody; omit targets (or write everyone: true) for everyone") }
        return Policy(name: name, type: type, appliesTo: appliesTo, targets: targets, everyone: targets.isEmpty)
    }

    func intent(_ node: ConfigNode) throws(ConfigError) -> Intent {
        let fields = try node.fields(["name", "users", "group", "filter", "expect"])
        let name = try fields.require("name").nonEmptyString()
        let selectors = ["users", "group", "filter"].filter { fields[$0] != nil }
        guard selectors.count == 1 else { throw node.error("select the users with exactly one of users, group or filter") }
        let selector: Intent.Selector
        switch selectors[0] {
        case "users": selector = .users(try fields["users"]!.strings())
        case "group":
            let value = try fields["group"]!.nonEmptyString()
            if value.contains("=") { try checkDN(value, fields["group"]!) }
            selector = .group(value)
        default:
            var filter = try fields["filter"]!.nonEmptyString()
            if !filter.hasPrefix("(") { filter = "(\(filter))" }
            if let problem = FilterSyntax.problem(in: filter) { throw fields["filter"]!.error("invalid LDAP filter \(filter): \(problem)") }
            selector = .filter(filter)
        }
        var expect: [Target] = []
        let expectNode = try fields.require("expect")
        for item in try expectNode.items() {
            let itemFields = try item.fields(["policy", "group", "profile_group"])
            guard itemFields.values.count == 1, let (key, value) = itemFields.values.first else {
                throw item.error("give exactly one of policy, group or profile_group")
            }
            let text = try value.nonEmptyString()
            switch key {
            case "policy": expect.append(.policy(text))
            case "group": expect.append(.group(text))
            default: expect.append(.profileGroup(text))
            }
        }
        guard !expect.isEmpty else { throw expectNode.error("list at least one expected policy, group or profile_group") }
        return Intent(name: name, selector: selector, expect: expect)
    }

    func server(_ node: ConfigNode?) throws(ConfigError) -> ServerConfig {
        guard let node else { return ServerConfig() }
        let fields = try node.fields(["socket", "listen", "token_file", "readiness_grace", "name", "lease"])
        let listen = try fields["listen"]?.nonEmptyString()
        if let listen, let listenNode = fields["listen"] {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port) else {
                throw listenNode.error("expected host:port, found \"\(listen)\"")
            }
            if fields["token_file"] == nil { throw listenNode.error("a TCP listener needs token_file: every request must carry its bearer token") }
        }
        return ServerConfig(
            socket: try fields["socket"].map { node throws(ConfigError) in resolve(try node.nonEmptyString()) },
            listen: listen, tokenFile: try secretFile(fields["token_file"]),
            readinessGrace: try fields["readiness_grace"]?.duration() ?? .seconds(3600),
            name: try fields["name"]?.nonEmptyString(), lease: try lease(fields["lease"]))
    }

    /// `server.lease`: how long a daemon's claim on a directory lasts unrenewed (PostgreSQL store).
    func lease(_ node: ConfigNode?) throws(ConfigError) -> Duration {
        guard let node else { return .seconds(15) }
        let lease = try node.duration()
        guard lease >= .seconds(2), lease <= .seconds(600) else {
            throw node.error("a lease between 2s and 10m (another daemon takes a directory over within it after its owner dies)")
        }
        return lease
    }
}
