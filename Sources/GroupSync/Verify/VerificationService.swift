import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncCore
import SyncStore
import Verification

/// Answers verification questions from the store: `verify`, `explain`, `report`, and the
/// landing evaluation that ends every sync run. Resolves the configuration's policies
/// against the snapshot once, at creation; make a new one after a sync. A class: the
/// daemon's event loops share one, and handing it out costs one reference count instead
/// of one for every field (the configuration alone has dozens).
public final class VerificationService: Sendable {
    public let config: GroupSyncConfig
    public let store: any SnapshotStore
    public let resolved: ResolvedPolicies
    /// Each directory's last successful run when the service was made (the snapshot it answers from).
    let lastRuns: [String: RunRecord]
    /// What `snapshot` says of each directory, but its age (formatting times is not free).
    let snapshotTemplates: [SnapshotInfo]
    let logger: Logger
    /// The time snapshot ages are measured against (injected by tests).
    let now: @Sendable () -> Date

    /// The in-memory snapshot the daemon answers from; nil to query the store.
    public let index: SnapshotIndex?
    public var usesIndex: Bool { index != nil }

    /// With `index`, answers come from memory (the daemon); without, from the store (the CLI).
    public init(
        config: GroupSyncConfig, store: any SnapshotStore, index: SnapshotIndex? = nil, logger: Logger = Logger(label: "groupsync"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(VerifyError) {
        self.index = index
        self.now = now
        self.config = config
        self.store = store
        self.logger = logger
        do {
            if let index {
                var resolved = try ResolvedPolicies(config.policies, catalog: index)
                resolved.memo = ResolvedGroupMemo()
                self.resolved = resolved
            } else {
                resolved = try store.withAnyCatalog { try ResolvedPolicies(config.policies, catalog: $0) }
            }
            var runs: [String: RunRecord] = [:]
            for directory in config.directories {
                runs[directory.name] = try store.lastSuccessfulRun(directory: directory.name)
            }
            lastRuns = runs
            let digest = StableHash.hex(config.text)
            let created = now()
            snapshotTemplates = config.directories.map { directory in
                SnapshotInfo(directory: directory, run: runs[directory.name], currentConfigDigest: digest, now: created)
            }
        } catch {
            throw .store("\(error)")
        }
    }

    // MARK: verify

    /// Did `name` land in each target? Targets naming an unknown policy or profile group are
    /// a usage error; a name matching several users too (give the DN).
    public func verify(_ name: String, targets: [Target], live: Bool = false) async throws(VerifyError) -> VerifyAnswer {
        var answer = try verifySnapshot(name, targets: targets)
        if live { try await addLive(to: &answer, name: name, targets: targets) }
        return answer
    }

    /// `verify` from the snapshot alone (no `--live`): synchronous, so the daemon can answer
    /// it on the thread that read the request.
    public func verifySnapshot(_ name: String, targets: [Target]) throws(VerifyError) -> VerifyAnswer {
        try Self.checkName(name, what: "user name")
        try checkTargets(targets)
        let snapshots = try self.snapshots()
        guard snapshots.contains(where: { $0.runID != nil }) else {
            throw .noSnapshot("the store has no synced snapshot yet: run groupsync sync first")
        }
        do {
            // Errors thrown inside come out as StoreError: a usage error is returned instead.
            let result = try withCatalog { catalog throws -> Result<VerifyAnswer, VerifyError> in
                let match: UserInfo?
                switch try Self.user(named: name, in: catalog) {
                case .success(let user): match = user
                case .failure(let error): return .failure(error)
                }
                guard let user = match else {
                    let stale = snapshots.compactMap(\.staleReason).first
                    let results = Verifier.unknownUser(name, targets: targets, closeMatches: try catalog.closeMatches(to: name, limit: 5), stale: stale)
                    return .success(VerifyAnswer(query: name, user: nil, snapshot: snapshots.first, results: results.map(VerifyAnswer.Result.init)))
                }
                let snapshot = snapshots.first { $0.directory == user.directory }
                let graph = try catalog.graph(of: user)
                let results = try Verifier(resolved).verify(graph, targets: targets, catalog: catalog, stale: snapshot?.staleReason)
                return .success(VerifyAnswer(query: name, user: UserJSON(user), snapshot: snapshot, results: results.map(VerifyAnswer.Result.init)))
            }
            return try result.get()
        } catch let error as VerifyError {
            throw error
        } catch {
            throw .store("\(error)")
        }
    }

    private func addLive(to answer: inout VerifyAnswer, name: String, targets: [Target]) async throws(VerifyError) {
        let directories = answer.user.map { user in config.directories.filter { $0.name == user.directory } } ?? config.directories
        var views: [LiveCheck.View] = []
        for directory in directories {
            do {
                views.append(try await LiveCheck(directory: directory, logger: logger).look(for: name))
            } catch {
                throw .directory("cannot ask directory \(directory.name) (--live): \(error)")
            }
        }
        let found = views.filter { $0.userDN != nil }
        for index in answer.results.indices {
            let target = targets[index]
            let specs = resolved.groupSpecs(of: target)
            let matches = found.flatMap { $0.contains(anyOf: specs) }
            let liveLanded: Bool
            if case .policy(let policyName) = target, resolved.policySet.policy(named: policyName)?.everyone == true {
                liveLanded = !found.isEmpty
            } else {
                liveLanded = !matches.isEmpty
            }
            var result = answer.results[index]
            let message: String
            switch (result.landed, liveLanded, found.isEmpty) {
            case (_, _, true):
                message = "the directory has no such user now either"
            case (false, true, _):
                message = "in the directory since the last sync (through \(matches.joined(separator: ", "))): run `groupsync sync`"
                if result.reasonCode != Reason.Code.userDisabled.rawValue {
                    result.reasonCode = Reason.Code.notSynced.rawValue
                    result.reason = "not in the snapshot, but in the directory now: " + message
                }
            case (false, false, _):
                message = "the directory does not have it either: add the user to one of the target's groups in the directory, then sync"
            case (true, true, _):
                message = "the directory agrees"
            case (true, false, _):
                message = "removed in the directory since the last sync: the next sync removes it"
            }
            result.live = VerifyAnswer.Live(landed: liveLanded, message: message)
            answer.results[index] = result
        }
    }

    /// The longest name a question may carry, in UTF-8 bytes: far above any username,
    /// address or DN, far below what would make a lookup expensive.
    public static let maximumNameBytes = 4096

    /// Refuses a name no directory object can have: empty, longer than
    /// ``maximumNameBytes``, or with a control character (NUL included).
    /// `what` names the value in the error, made only when there is one.
    static func checkName(_ name: String, what: @autoclosure () -> String) throws(VerifyError) {
        // The usual name: printable ASCII, not all spaces, short. Passes without the
        // Unicode property lookups below (the API asks this for every name of every question).
        var printable = 0
        var blank = true
        for byte in name.utf8 {
            guard byte >= 0x20, byte < 0x7F else { break }
            if byte != 0x20 { blank = false }
            printable += 1
        }
        if !blank, printable == name.utf8.count, printable <= maximumNameBytes { return }
        // Only blanks (what Foundation's .whitespaces holds: tab and the space separators),
        // checked without bridging to NSString: the API asks this for every question.
        guard name.unicodeScalars.contains(where: { $0 != "\t" && $0.properties.generalCategory != .spaceSeparator }) else {
            throw .usage("the \(what()) is empty")
        }
        let bytes = name.utf8.count
        guard bytes <= maximumNameBytes else {
            throw .usage("the \(what()) is \(bytes) bytes long; a username, address, DN or group name is at most \(maximumNameBytes)")
        }
        if let offset = name.unicodeScalars.firstIndex(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            let scalar = name.unicodeScalars[offset]
            let position = name.unicodeScalars.distance(from: name.unicodeScalars.startIndex, to: offset)
            throw .usage(String(format: "the \(what()) contains the control character U+%04X at position %d", scalar.value, position))
        }
    }

    private func checkTargets(_ targets: [Target]) throws(VerifyError) {
        guard !targets.isEmpty else { throw .usage("name at least one target: --group, --policy or --profile-group") }
        for target in targets {
            try Self.checkName(target.name, what: "\(target.kind) name")
            switch target {
            case .policy(let name) where resolved.policySet.policy(named: name) == nil:
                throw .usage("no policy named \"\(name)\" in the configuration; policies: \(Self.list(resolved.policySet.policies.map(\.name)))")
            case .profileGroup(let name) where resolved.policySet.profileGroup(named: name) == nil:
                throw .usage("no profile group named \"\(name)\" in the configuration; profile groups: \(Self.list(resolved.policySet.profileGroups.map(\.name)))")
            default: break
            }
        }
    }

    /// The one user a name means: nil when none, an error when several (name one by DN).
    static func user(named name: String, in catalog: any Catalog) throws -> Result<UserInfo?, VerifyError> {
        let users = try catalog.users(matching: name)
        guard users.count <= 1 else {
            return .failure(.ambiguous(
                "\"\(name)\" matches \(users.count) users: " + users.map { "\($0.user.dn) (\($0.directory))" }.joined(separator: "; ")
                    + "; name one by DN"))
        }
        return .success(users.first)
    }

    static func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }

    // MARK: explain

    /// Everything that applies to `name`; nil when no user matches (with close matches).
    public func explain(_ name: String) throws(VerifyError) -> (answer: ExplainAnswer?, closeMatches: [String]) {
        try Self.checkName(name, what: "user name")
        let snapshots = try self.snapshots()
        guard snapshots.contains(where: { $0.runID != nil }) else {
            throw .noSnapshot("the store has no synced snapshot yet: run groupsync sync first")
        }
        do {
            let result = try withCatalog { catalog throws -> Result<(ExplainAnswer?, [String]), VerifyError> in
                let match: UserInfo?
                switch try Self.user(named: name, in: catalog) {
                case .success(let user): match = user
                case .failure(let error): return .failure(error)
                }
                guard let user = match else { return .success((nil, try catalog.closeMatches(to: name, limit: 5))) }
                let coverage = Coverage(try catalog.graph(of: user), policies: resolved)
                let snapshot = snapshots.first { $0.directory == user.directory } ?? snapshots[0]
                return .success((ExplainAnswer(coverage, snapshot: snapshot), []))
            }
            return try result.get()
        } catch let error as VerifyError {
            throw error
        } catch {
            throw .store("\(error)")
        }
    }

    /// Runs `body` against the index, or the store inside one read transaction.
    func withCatalog<T>(_ body: (any Catalog) throws -> T) throws -> T {
        if let index { return try body(index) }
        return try store.withAnyCatalog { try body($0) }
    }

    // MARK: Snapshots

    func snapshots() throws(VerifyError) -> [SnapshotInfo] {
        let now = now()
        // By index: zipping copies each directory's configuration, on every answer.
        var snapshots = snapshotTemplates
        for index in snapshots.indices {
            let name = config.directories[index].name
            snapshots[index].aged(directory: config.directories[index], finished: lastRuns[name]?.finishedAt, now: now)
        }
        return snapshots
    }
}

/// Why a verification question could not be answered (as opposed to "did not land").
public enum VerifyError: Error, Sendable, CustomStringConvertible {
    case usage(String)
    case ambiguous(String)
    case noSnapshot(String)
    case store(String)
    case directory(String)

    public var description: String {
        switch self {
        case .usage(let message), .ambiguous(let message), .noSnapshot(let message), .store(let message), .directory(let message): message
        }
    }
}

