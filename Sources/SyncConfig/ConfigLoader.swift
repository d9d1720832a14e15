import Foundation
import LDAPClient
import Yams

/// Reads and checks the configuration file. Every error names the file, line and key path.
public enum ConfigLoader {
    /// The default locations, in order: `./groupsync.yaml`, then `/etc/groupsync/groupsync.yaml`.
    public static let defaultPaths = ["groupsync.yaml", "/etc/groupsync/groupsync.yaml"]

    /// Finds the file to use: the one given, or the first default that exists.
    public static func locate(_ explicit: String?) throws(ConfigError) -> String {
        if let explicit { return explicit }
        for path in defaultPaths where FileManager.default.fileExists(atPath: path) { return path }
        throw ConfigError(
            file: defaultPaths[0], line: nil, keyPath: "",
            message: "no configuration file: pass --config PATH, or create ./groupsync.yaml or /etc/groupsync/groupsync.yaml (examples in Config/)")
    }

    /// Far above any real configuration; a bigger file is a mistake (or not a configuration).
    public static let maximumFileBytes = 1 << 20

    public static func load(path: String) throws(ConfigError) -> GroupSyncConfig {
        let data: Data
        switch BoundedFile.read(path, maximumBytes: maximumFileBytes) {
        case .success(let contents): data = contents
        case .failure(.notRegular): throw ConfigError(file: path, line: nil, keyPath: "", message: "not a regular file")
        case .failure(.tooBig(let size)):
            throw ConfigError(file: path, line: nil, keyPath: "", message: "the file is \(size) bytes; a configuration is at most \(maximumFileBytes) (1 MiB)")
        case .failure(.unreadable):
            throw ConfigError(file: path, line: nil, keyPath: "", message: "cannot read the file (missing or no permission)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, keyPath: "", message: "the file is not valid UTF-8")
        }
        return try parse(text, file: path)
    }

    /// `environment` answers `password_env` (the process's own by default; tests pass theirs
    /// rather than calling `setenv`, which races with other threads starting processes).
    public static func parse(
        _ text: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> GroupSyncConfig {
        let root: Node?
        // The parser holds the anchors its nodes point at (weakly): keep it until the shape
        // check has looked for them.
        let parser: Parser
        do {
            parser = try Parser(yaml: text)
            root = try parser.singleRoot()
        } catch let error as YamlError {
            throw yamlError(error, file: file)
        } catch {
            throw ConfigError(file: file, line: nil, keyPath: "", message: "cannot parse YAML: \(error)")
        }
        guard let root else { throw ConfigError(file: file, line: nil, keyPath: "", message: "the file is empty") }
        try withExtendedLifetime(parser) { () throws(ConfigError) in try ConfigNode.checkShape(root, file: file) }
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
        let reader = Reader(file: file, folder: folder, text: text, environment: environment)
        return try reader.config(ConfigNode(node: root, path: "", file: file))
    }

    private static func yamlError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, keyPath: "", message: "invalid YAML: \(problem)")
        default:
            return ConfigError(file: file, line: nil, keyPath: "", message: "invalid YAML: \(error)")
        }
    }
}

/// The walk over the YAML tree, one method per section.
struct Reader {
    let file: String
    let folder: URL
    let text: String
    let environment: [String: String]

    func config(_ node: ConfigNode) throws(ConfigError) -> GroupSyncConfig {
        let fields = try node.fields(["store", "directories", "profile_groups", "relay_profiles", "policies", "intents", "server"])
        let store = try storeConfig(try fields.require("store"))
        let list = try fields.require("directories").items()
        guard !list.isEmpty else { throw try fields.require("directories").error("list at least one directory") }
        var directories: [DirectoryConfig] = []
        for item in list {
            let directory = try directoryConfig(item)
            if directories.contains(where: { $0.name == directory.name }) {
                throw item.error("two directories are named \"\(directory.name)\"; names must be unique")
            }
            directories.append(directory)
        }
        return GroupSyncConfig(
            file: file, text: text, store: store, directories: directories, policies: try policySet(fields),
            server: try server(fields["server"]))
    }

    func storeConfig(_ node: ConfigNode) throws(ConfigError) -> StoreConfig {
        let fields = try node.fields(["path", "postgres"])
        switch (fields["path"], fields["postgres"]) {
        case (let path?, nil):
            return StoreConfig(path: resolve(try path.nonEmptyString()))
        case (nil, let postgres?):
            return StoreConfig(path: "", postgres: try postgresSettings(postgres))
        case (.some, .some):
            throw node.error("give either path (SQLite) or postgres, not both")
        case (nil, nil):
            throw node.error("the store needs path (an SQLite file) or postgres")
        }
    }

    /// `store.postgres`: url (no password in it), password_file, tls {mode, ca_file}.
    func postgresSettings(_ node: ConfigNode) throws(ConfigError) -> PostgresSettings {
        let fields = try node.fields(["url", "password_file", "tls"])
        var tls = PostgresSettings.TLS()
        if let tlsNode = fields["tls"] {
            let tlsFields = try tlsNode.fields(["mode", "ca_file"])
            if let modeNode = tlsFields["mode"] {
                let text = try modeNode.nonEmptyString()
                guard let mode = PostgresSettings.TLSMode(rawValue: text) else {
                    throw modeNode.error("expected \(PostgresSettings.TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(text)\"")
                }
                tls.mode = mode
            }
            tls.caFile = try readableFile(tlsFields["ca_file"])
            if tls.caFile != nil && tls.mode != .verifyFull {
                throw try tlsFields.require("ca_file").error("ca_file is for mode verify-full (mode \(tls.mode.rawValue) checks no certificate)")
            }
        }
        let urlNode = try fields.require("url")
        let url = try urlNode.nonEmptyString()
        let passwordFile = try secretFile(fields["password_file"])
        do {
            return try PostgresSettings(url: url, passwordFile: passwordFile, tls: tls)
        } catch {
            throw urlNode.error(error.message)
        }
    }

    func directoryConfig(_ node: ConfigNode) throws(ConfigError) -> DirectoryConfig {
        let fields = try node.fields([
            "name", "url", "start_tls", "tls", "bind", "flavour", "page_size", "timeout", "users", "groups",
            "attributes", "limits", "schedule", "incremental",
        ])
        let name = try fields.require("name").nonEmptyString()
        let urlNode = try fields.require("url")
        let url = try urlNode.nonEmptyString()
        let scheme = url.lowercased()
        guard scheme.hasPrefix("ldap://") || scheme.hasPrefix("ldaps://") || scheme.hasPrefix("ldapi://") else {
            throw urlNode.error("expected an ldap://, ldaps:// or ldapi:// URL, found \"\(url)\"")
        }
        let startTLS = try fields["start_tls"]?.bool() ?? false
        if startTLS && scheme.hasPrefix("ldaps://") {
            throw try fields.require("start_tls").error("start_tls is for ldap:// URLs; ldaps:// is already TLS")
        }
        let flavourNode = fields["flavour"]
        let flavourText = try flavourNode?.string() ?? "auto"
        guard let flavour = DirectoryConfig.Flavour(rawValue: flavourText) else {
            throw flavourNode!.error("expected auto, openldap or activedirectory, found \"\(flavourText)\"")
        }
        let incremental = try incremental(fields["incremental"], flavour: flavour)
        let schedule = try schedule(fields["schedule"], flavour: flavour, incremental: incremental)
        return DirectoryConfig(
            name: name, url: url, startTLS: startTLS, tls: try tlsOptions(fields["tls"]), bind: try bind(fields["bind"]),
            flavour: flavour, pageSize: try fields["page_size"]?.int(in: 1...100_000) ?? 1000,
            timeout: try fields["timeout"]?.duration() ?? .seconds(30),
            users: try search(try fields.require("users"), defaultFilter: "(objectClass=inetOrgPerson)"),
            groups: try search(
                try fields.require("groups"),
                defaultFilter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))"),
            attributes: try attributes(fields["attributes"]), limits: try limits(fields["limits"]),
            schedule: schedule, incremental: incremental)
    }

    /// `flavour`: the access log is OpenLDAP's (its `accesslog` overlay).
    func incremental(_ node: ConfigNode?, flavour: DirectoryConfig.Flavour) throws(ConfigError) -> IncrementalConfig {
        guard let node else { return IncrementalConfig() }
        let fields = try node.fields(["method", "full_every", "access_log"])
        var config = IncrementalConfig()
        if let methodNode = fields["method"] {
            let text = try methodNode.string()
            guard let method = IncrementalConfig.Method(rawValue: text) else {
                throw methodNode.error("expected one of \(IncrementalConfig.Method.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(text)\"")
            }
            config.method = method
        }
        if let fullEvery = fields["full_every"] {
            config.fullEvery = try fullEvery.duration()
            guard config.fullEvery >= .seconds(60) else { throw fullEvery.error("a full run more often than every minute is too often; give at least 1m") }
        }
        if let logNode = fields["access_log"] {
            let base = try logNode.nonEmptyString()
            try checkDN(base, logNode)
            config.accessLog = base
            if flavour == .activedirectory {
                throw logNode.error("the access log is OpenLDAP's accesslog overlay; Active Directory's incremental runs read member values through DirSync already")
            }
            if ![.auto, .syncrepl].contains(config.method) {
                throw logNode.error("the access log serves runs through content synchronization, but incremental.method is \(config.method.rawValue)")
            }
        }
        return config
    }

    func tlsOptions(_ node: ConfigNode?) throws(ConfigError) -> TLSOptions {
        guard let node else { return TLSOptions() }
        let fields = try node.fields(["ca_file", "cert_file", "key_file", "verify"])
        return TLSOptions(
            caFile: try readableFile(fields["ca_file"]), certificateFile: try readableFile(fields["cert_file"]),
            keyFile: try readableFile(fields["key_file"]), verify: try fields["verify"]?.bool() ?? true)
    }

    func bind(_ node: ConfigNode?) throws(ConfigError) -> BindConfig? {
        guard let node else { return nil }
        let fields = try node.fields(["dn", "password_file", "password_env"])
        let dnNode = try fields.require("dn")
        let dn = try dnNode.nonEmptyString()
        try checkDN(dn, dnNode)
        switch (fields["password_file"], fields["password_env"]) {
        case (let file?, nil):
            guard let path = try secretFile(file) else { throw file.error("must not be empty") }
            let bind = BindConfig(dn: dn, password: .file(path))
            do {
                _ = try bind.readPassword()
            } catch {
                throw file.error("\(path): \(error.message)")
            }
            return bind
        case (nil, let env?):
            let name = try env.nonEmptyString()
            guard environment[name] != nil else {
                throw env.error("the environment variable \(name) is not set")
            }
            return BindConfig(dn: dn, password: .environment(name))
        case (.some, .some):
            throw node.error("give either password_file or password_env, not both")
        case (nil, nil):
            throw node.error("a bind needs password_file or password_env (passwords are never written in the configuration); omit bind for anonymous access")
        }
    }

    func search(_ node: ConfigNode, defaultFilter: String) throws(ConfigError) -> SearchConfig {
        let fields = try node.fields(["base", "scope", "filter"])
        let baseNode = try fields.require("base")
        let base = try baseNode.nonEmptyString()
        try checkDN(base, baseNode)
        let scopeText = try fields["scope"]?.string() ?? "sub"
        guard let scope = LDAPSearchRequest.Scope(rawValue: scopeText), scope != .base else {
            throw fields["scope"]!.error("expected sub or one, found \"\(scopeText)\"")
        }
        var filter = defaultFilter
        if let filterNode = fields["filter"] {
            filter = try filterNode.nonEmptyString()
            if !filter.hasPrefix("(") { filter = "(\(filter))" }
            if let problem = FilterSyntax.problem(in: filter) { throw filterNode.error("invalid LDAP filter \(filter): \(problem)") }
        }
        return SearchConfig(base: base, scope: scope, filter: filter, filterGiven: fields["filter"] != nil)
    }

    func attributes(_ node: ConfigNode?) throws(ConfigError) -> AttributeOverrides {
        guard let node else { return AttributeOverrides() }
        let fields = try node.fields([
            "id", "username", "mail", "aliases", "display_name", "group_name", "member", "member_uid", "disabled", "change_marker",
        ])
        return AttributeOverrides(
            id: try fields["id"]?.nonEmptyString(), username: try fields["username"]?.nonEmptyString(),
            mail: try fields["mail"]?.nonEmptyString(), aliases: try fields["aliases"]?.strings(),
            displayName: try fields["display_name"]?.nonEmptyString(), groupName: try fields["group_name"]?.nonEmptyString(),
            member: try fields["member"]?.strings(), memberUID: try fields["member_uid"]?.strings(),
            disabled: try fields["disabled"]?.nonEmptyString(),
            changeMarker: try changeMarker(fields["change_marker"]))
    }

    /// `""` is allowed here: it turns skipping unchanged groups off.
    func changeMarker(_ node: ConfigNode?) throws(ConfigError) -> String? {
        guard let node else { return nil }
        return try node.string().trimmingCharacters(in: .whitespaces)
    }

    func limits(_ node: ConfigNode?) throws(ConfigError) -> SafetyLimits {
        var limits = SafetyLimits.default
        guard let node else { return limits }
        let fields = try node.fields(["max_user_deletions", "max_group_deletions", "max_membership_deletions"])
        if let value = fields["max_user_deletions"] { limits.maxUserDeletions = try limit(value) }
        if let value = fields["max_group_deletions"] { limits.maxGroupDeletions = try limit(value) }
        if let value = fields["max_membership_deletions"] { limits.maxMembershipDeletions = try limit(value) }
        return limits
    }

    func limit(_ node: ConfigNode) throws(ConfigError) -> SafetyLimits.Limit {
        let text = try node.string().trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%"), let percent = Double(text.dropLast()), percent >= 0, percent <= 100 {
            return .share(percent / 100)
        }
        if let count = Int(text), count >= 0 { return .count(count) }
        throw node.error("expected a count (500) or a share (10%), found \"\(text)\"")
    }

    /// `flavour` and `incremental`: watch mode needs OpenLDAP content synchronization.
    func schedule(_ node: ConfigNode?, flavour: DirectoryConfig.Flavour, incremental: IncrementalConfig) throws(ConfigError) -> ScheduleConfig? {
        guard let node else { return nil }
        let fields = try node.fields(["every", "jitter", "at", "on_start", "retries", "retry_after", "watch", "batch_window"])
        let every = try fields["every"]?.duration()
        let at = try fields["at"]?.strings() ?? []
        for time in at {
            let parts = time.split(separator: ":")
            guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute) else {
                throw fields["at"]!.error("expected times as HH:MM, found \"\(time)\"")
            }
        }
        if every != nil && !at.isEmpty { throw node.error("give either every or at, not both") }
        let onStart = try fields["on_start"]?.bool() ?? false
        let watch = try fields["watch"]?.bool() ?? false
        if watch, let watchNode = fields["watch"] {
            if flavour == .activedirectory {
                throw watchNode.error("watch mode needs OpenLDAP content synchronization (syncprov); on Active Directory use every/at with incremental runs")
            }
            if ![.auto, .syncrepl].contains(incremental.method) {
                throw watchNode.error("watch mode runs incrementally through content synchronization, but incremental.method is \(incremental.method.rawValue)")
            }
        }
        if every == nil && at.isEmpty && !onStart && !watch {
            throw node.error("give every (an interval), at (times of day), on_start: true or watch: true")
        }
        var schedule = ScheduleConfig(
            every: every, jitter: try fields["jitter"]?.duration(), at: at, onStart: onStart,
            retries: try fields["retries"]?.int(in: 0...100) ?? 5, retryAfter: try fields["retry_after"]?.duration() ?? .seconds(30))
        schedule.watch = watch
        if let window = fields["batch_window"] {
            schedule.batchWindow = try window.duration()
            guard schedule.batchWindow <= .seconds(600) else { throw window.error("a batch window longer than 10m delays every change; give at most 10m") }
        }
        return schedule
    }

    // MARK: Helpers

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : folder.appendingPathComponent(path).standardizedFileURL.path
    }

    func readableFile(_ node: ConfigNode?) throws(ConfigError) -> String? {
        guard let node else { return nil }
        let path = resolve(try node.nonEmptyString())
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw node.error("cannot read \(path) (missing or no permission)")
        }
        return path
    }

    /// A file holding a secret (bind password, API token): readable, and not by everyone.
    /// A world-readable secret is refused, as ssh refuses such a key: any local account
    /// could read the directory password.
    func secretFile(_ node: ConfigNode?) throws(ConfigError) -> String? {
        guard let node, let path = try readableFile(node) else { return nil }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IROTH != 0 {
            throw node.error(
                "\(path) holds a secret but every user on this machine can read it (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "take the permission away: chmod o-rwx \(path) (0600, or 0640 for a group)")
        }
        return path
    }

    func checkDN(_ dn: String, _ node: ConfigNode) throws(ConfigError) {
        do {
            _ = try DistinguishedName(dn)
        } catch {
            throw node.error("not a valid DN: \(error.reason) (at offset \(error.offset))")
        }
    }
}
