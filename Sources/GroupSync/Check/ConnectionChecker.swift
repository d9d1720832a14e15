import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncStore
import X509

/// Runs `groupsync check`: per directory the secret, name resolution, TCP, TLS, bind, root
/// DSE, search bases and searches, each as its own step; then the store.
public struct ConnectionChecker: Sendable {
    public let config: GroupSyncConfig
    let logger: Logger

    public init(config: GroupSyncConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(directories names: [String] = []) async -> CheckAnswer {
        var directories: [CheckAnswer.Directory] = []
        for directory in config.directories where names.isEmpty || names.contains(directory.name) {
            directories.append(CheckAnswer.Directory(name: directory.name, url: directory.url, steps: await check(directory)))
        }
        return CheckAnswer(config: config.file, directories: directories, store: checkStore())
    }

    func check(_ directory: DirectoryConfig) async -> [CheckAnswer.Step] {
        var steps: [CheckAnswer.Step] = []
        // The secret.
        var credentials = LDAPCredentials.anonymous
        if let bind = directory.bind {
            do {
                credentials = .simple(dn: bind.dn, password: try bind.readPassword())
                steps.append(.init("secret", .pass, "the bind password of \(bind.dn) is readable"))
            } catch {
                steps.append(.init("secret", .fail, "\(error)", hint: "check bind.password_file (its path and permissions) or bind.password_env"))
                return steps + skipped(after: "secret")
            }
        } else {
            steps.append(.init("secret", .warn, "no bind: groupsync binds anonymously", hint: "most directories hide users from anonymous binds; give bind.dn and a password"))
        }
        // Name and TCP.
        let endpoint = NetworkProbe.endpoint(of: directory.url)
        if let endpoint {
            switch NetworkProbe.resolve(endpoint.host) {
            case .failure(let message):
                steps.append(.init("resolve", .fail, "host name \(endpoint.host) does not resolve: \(message)", hint: "check the host in url, and DNS or /etc/hosts on this machine"))
                return steps + skipped(after: "resolve")
            case .success(let addresses):
                steps.append(.init("resolve", .pass, "\(endpoint.host) → \(addresses.joined(separator: ", "))"))
            }
            if let failure = NetworkProbe.connect(host: endpoint.host, port: endpoint.port, timeout: directory.timeout) {
                steps.append(.init("connect", .fail, "TCP \(endpoint.host):\(endpoint.port): \(failure)", hint: "is the server running and listening on that port? a firewall in between?"))
                return steps + skipped(after: "connect")
            }
            steps.append(.init("connect", .pass, "TCP \(endpoint.host):\(endpoint.port) accepts connections"))
        } else {
            steps.append(.init("resolve", .skip, "a Unix socket (ldapi://)"))
            steps.append(.init("connect", .skip, "a Unix socket (ldapi://)"))
        }
        // TLS (the LDAP connection itself), then bind.
        let session: LDAPSession
        do {
            session = try await LDAPSession.connectWithoutBind(directory.connectionOptions, logger: logger)
        } catch {
            steps.append(.init("tls", .fail, "\(error)", hint: Self.tlsHint(error, directory: directory)))
            return steps + skipped(after: "tls")
        }
        steps.append(await tlsStep(session, directory: directory, host: endpoint?.host))
        do {
            try await session.bind(credentials)
            let identity = (try? await session.whoAmI()) ?? ""
            steps.append(.init("bind", .pass, "bound as \(credentials.logDescription)" + (identity.isEmpty ? "" : " (the server says: \(identity))")))
        } catch let error as LDAPError {
            steps.append(.init("bind", .fail, "\(error)", hint: Self.bindHint(error)))
            await session.close()
            return steps + skipped(after: "bind")
        } catch {
            steps.append(.init("bind", .fail, "\(error)"))
            await session.close()
            return steps + skipped(after: "bind")
        }
        steps += await directorySteps(session, directory: directory)
        await session.close()
        return steps
    }

    /// The steps after the bind: root DSE, bases, searches.
    private func directorySteps(_ session: LDAPSession, directory: DirectoryConfig) async -> [CheckAnswer.Step] {
        var steps: [CheckAnswer.Step] = []
        let root: RootDSE
        do {
            root = try await session.rootDSE()
        } catch {
            return [.init("root DSE", .fail, "\(error)", hint: "the bind account cannot read the root DSE")]
        }
        let reader = DirectoryReader(directory: directory, logger: logger)
        let flavour = reader.flavour(of: root)
        var facts = ["\(flavour == .activeDirectory ? "Active Directory" : "OpenLDAP")" + (root.vendorVersion.map { " \($0)" } ?? "")]
        facts.append(root.supportsPagedResults ? "paged results" : "no paged results")
        let feed: String
        if directory.incremental.method == .off {
            feed = "incremental runs off"
        } else if flavour == .activeDirectory {
            feed = root.supportedControls.contains(DirSync.oid) ? "DirSync offered (uSNChanged windows otherwise)" : "uSNChanged windows"
        } else {
            feed = root.supportsContentSynchronization ? "content synchronization (syncprov): incremental runs" : "no content synchronization (no syncprov): every run is full"
        }
        facts.append(feed)
        var status: CheckAnswer.Status = root.supportsPagedResults ? .pass : .warn
        if directory.schedule?.watch == true && flavour != .activeDirectory && !root.supportsContentSynchronization { status = .warn }
        steps.append(.init("root DSE", status, facts.joined(separator: "; "),
                           hint: root.supportsPagedResults ? nil : "without paged results a large search may hit the server's size limit"))
        if let log = directory.incremental.accessLog { steps.append(await accessLogStep(session, log: log)) }
        let effective = directory.effective(for: flavour)
        for (label, search, attributes) in [
            ("users", effective.users, directory.mapping(for: flavour).userAttributes), ("groups", effective.groups, ["1.1"]),
        ] {
            do {
                _ = try await session.searchAll(LDAPSearchRequest(base: search.base, scope: .base, attributes: ["1.1"], pageSize: nil))
            } catch let error as LDAPError {
                steps.append(.init("\(label) base", .fail, "\(label).base \(search.base): \(error)",
                                   hint: error.code == .noSuchObject ? "no entry with that DN: check \(label).base (the server matched \(error.matchedDN ?? "nothing"))" : nil))
                continue
            } catch {
                steps.append(.init("\(label) base", .fail, "\(error)"))
                continue
            }
            steps.append(.init("\(label) base", .pass, "\(search.base) exists"))
            var count = 0
            var sample: String?
            do {
                let request = LDAPSearchRequest(base: search.base, scope: search.scope, filter: search.filter, attributes: attributes, pageSize: directory.pageSize)
                for try await event in session.search(request) {
                    if case .entry(let entry) = event {
                        count += 1
                        if sample == nil { sample = entry.dn }
                    }
                }
                if count == 0 {
                    steps.append(.init(label, .warn, "\(search.filter) under \(search.base) matches nothing",
                                       hint: "check \(label).filter and that the bind account may read these entries"))
                } else {
                    steps.append(.init(label, .pass, "\(count) \(label) match \(search.filter), e.g. \(sample ?? "")"))
                }
            } catch let error as LDAPError where error.code == .sizeLimitExceeded {
                steps.append(.init(label, .warn, "the server stopped the search after \(count) entries: \(error)",
                                   hint: "the bind account has a size limit; raise it or lower page_size (\(directory.pageSize))"))
            } catch {
                steps.append(.init(label, .fail, "\(error)"))
            }
        }
        return steps
    }

    /// `incremental.access_log`: whether the bind account finds write records under it. Runs
    /// go on without a log they cannot read, so a problem here is a warning.
    private func accessLogStep(_ session: LDAPSession, log: String) async -> CheckAnswer.Step {
        let request = LDAPSearchRequest(
            base: log, scope: .one, filter: "(objectClass=auditWriteObject)", attributes: ["reqStart"], pageSize: nil, sizeLimit: 1)
        do {
            let result = try await session.searchAll(request)
            guard let first = result.entries.first else {
                return .init("access log", .warn, "\(log) holds no write records the bind account can read",
                             hint: "a new log is used once it holds a record from before a run's position; otherwise check the bind account's read access to \(log)")
            }
            return .init("access log", .pass, "\(log) readable (write records from \(first.string("reqStart") ?? "?"))")
        } catch let error as LDAPError where error.code == .sizeLimitExceeded {
            return .init("access log", .pass, "\(log) readable (write records present)")
        } catch let error as LDAPError {
            return .init("access log", .warn, "incremental.access_log \(log): \(error)",
                         hint: error.code == .noSuchObject ? "no entry with that DN: check incremental.access_log (the accesslog overlay's olcAccessLogDB suffix)"
                             : "runs read changed groups whole while the log cannot be read")
        } catch {
            return .init("access log", .warn, "incremental.access_log \(log): \(error)")
        }
    }

    private func tlsStep(_ session: LDAPSession, directory: DirectoryConfig, host: String?) async -> CheckAnswer.Step {
        guard let details = try? await session.tlsDetails() else {
            if directory.url.lowercased().hasPrefix("ldapi://") { return .init("tls", .skip, "a Unix socket: no TLS needed") }
            return .init("tls", .warn, "no TLS: the bind password crosses the network in clear text",
                         hint: "use an ldaps:// URL or start_tls: true")
        }
        var parts = [details.version, details.cipher].compactMap { $0 }
        var status = CheckAnswer.Status.pass
        var hint: String?
        if let der = details.peerCertificate, let certificate = try? Certificate(derEncoded: der) {
            parts.append("certificate \(certificate.subject) issued by \(certificate.issuer), valid until \(rfc3339(certificate.notValidAfter))")
            let days = certificate.notValidAfter.timeIntervalSinceNow / 86_400
            if days < 30 {
                status = .warn
                hint = "the server's certificate expires in \(Int(days)) days"
            }
            if let host, !Self.certificate(certificate, matches: host) {
                status = .warn
                hint = "the certificate does not name \(host) (libldap accepted it: tls.verify may be off)"
            } else if host != nil {
                parts.append("names \(host!)")
            }
        }
        parts.append(directory.tls.caFile.map { "CA \($0)" } ?? "the system CAs")
        return .init("tls", status, parts.joined(separator: "; "), hint: hint)
    }

    static func certificate(_ certificate: Certificate, matches host: String) -> Bool {
        var names: [String] = []
        if let alternatives = try? certificate.extensions.subjectAlternativeNames {
            for name in alternatives {
                switch name {
                case .dnsName(let dns): names.append(dns.lowercased())
                case .ipAddress(let bytes):
                    let octets = Array(bytes.bytes)
                    if octets.count == 4 { names.append(octets.map(String.init).joined(separator: ".")) }
                default: break
                }
            }
        }
        if names.isEmpty {
            for rdn in certificate.subject {
                for attribute in rdn where attribute.type == .RDNAttributeType.commonName { names.append("\(attribute.value)".lowercased()) }
            }
        }
        let host = host.lowercased()
        return names.contains { name in
            name == host || (name.hasPrefix("*.") && host.hasSuffix(name.dropFirst()) && !host.dropLast(name.count - 1).contains("."))
        }
    }

    static func tlsHint(_ error: any Error, directory: DirectoryConfig) -> String? {
        let text = "\(error)".lowercased()
        if text.contains("certificate") || text.contains("verify") || text.contains("tls") || text.contains("connect error") {
            return "the server's certificate was not accepted: is tls.ca_file (\(directory.tls.caFile ?? "system CAs")) the CA that signed it, "
                + "and does the certificate name the host in url?"
        }
        return nil
    }

    /// Active Directory explains a failed simple bind with a `data NNN` sub-code.
    static func bindHint(_ error: LDAPError) -> String? {
        let codes = [
            "525": "no such user (bind.dn names no account)", "52e": "wrong password", "530": "not permitted to log on at this time",
            "531": "not permitted to log on from this workstation", "532": "the password has expired", "533": "the account is disabled",
            "701": "the account has expired", "773": "the password must be reset", "775": "the account is locked out",
        ]
        let message = (error.diagnosticMessage ?? "").lowercased()
        for (code, meaning) in codes where message.contains("data \(code)") {
            return "Active Directory says: \(meaning) (data \(code))"
        }
        if error.code == .invalidCredentials { return "wrong bind.dn or password" }
        if error.code == .confidentialityRequired || error.code == .strongerAuthRequired {
            return "the server requires TLS for simple binds: use ldaps:// or start_tls: true"
        }
        return nil
    }

    private func skipped(after step: String) -> [CheckAnswer.Step] {
        let order = ["secret", "resolve", "connect", "tls", "bind", "root DSE", "users base", "users", "groups base", "groups"]
        guard let index = order.firstIndex(of: step) else { return [] }
        return order[(index + 1)...].map { .init($0, .skip, "not tried: \(step) failed") }
    }

    private func checkStore() -> CheckAnswer.Step {
        do {
            let store = try config.store.open()
            try store.probeWritable()
            return .init("store", .pass, "\(config.store.location) opens and is writable")
        } catch {
            let hint = config.store.postgres == nil
                ? "check store.path, its folder's permissions and free space"
                : "check store.postgres (url, password_file, tls), that the server runs, and that the user may create tables in the database"
            return .init("store", .fail, "\(error)", hint: hint)
        }
    }
}
