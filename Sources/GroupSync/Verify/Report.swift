import Foundation
import LDAPClient
import SyncCore
import SyncStore
import Verification

extension VerificationService {
    /// Evaluates every intent against the store as it is now and keeps the result with
    /// `runID`: the landing report of that run. `filterMatches` are the users each
    /// `filter:` intent selected in the directories (``matchFilterIntents()``).
    @discardableResult
    public func evaluateLandings(runID: Int64, filterMatches: [String: [UserKey]]) throws(VerifyError) -> [PolicyAudit.Landing] {
        guard !config.policies.intents.isEmpty else { return [] }
        do {
            let rows = try withCatalog { catalog in
                var audit = PolicyAudit(resolved, catalog: catalog)
                return try audit.landings(filterMatches: filterMatches)
            }
            try store.saveLandings(rows, runID: runID)
            return rows
        } catch {
            throw .store("\(error)")
        }
    }

    /// Runs each `filter:` intent's filter, ANDed with each directory's user filter, and
    /// returns the users found by stable id.
    public func matchFilterIntents() async throws(VerifyError) -> [String: [UserKey]] {
        var result: [String: [UserKey]] = [:]
        let intents = config.policies.intents.compactMap { intent -> (String, String)? in
            if case .filter(let filter) = intent.selector { return (intent.name, filter) }
            return nil
        }
        guard !intents.isEmpty else { return result }
        for directory in config.directories {
            do {
                let session = try await directory.openSession(logger: logger)
                do {
                    let flavour = try await LiveCheck.flavour(of: directory, session)
                    let directory = directory.effective(for: flavour)
                    for (name, filter) in intents {
                        let mapping = directory.mapping(for: flavour)
                        let found = try await session.searchAll(LDAPSearchRequest(
                            base: directory.users.base, scope: directory.users.scope,
                            filter: LDAPFilter.and([.raw(directory.users.filter), .raw(filter)]).render(),
                            attributes: [mapping.id], pageSize: directory.pageSize))
                        result[name, default: []] += found.entries.compactMap { entry in
                            SnapshotBuilder.stableID(of: entry, mapping: mapping).map { UserKey(directory: directory.name, id: $0) }
                        }
                    }
                    await session.close()
                } catch {
                    await session.close()
                    throw error
                }
            } catch {
                throw .directory("cannot select the users of filter intents in directory \(directory.name): \(error)")
            }
        }
        return result
    }

    /// The landing report of the last evaluation, compared with the one before, and the
    /// policy lint against the snapshot as it is now.
    public func report() throws(VerifyError) -> ReportAnswer {
        do {
            let evaluations = try store.latestLandings()
            let lint = try withCatalog { catalog in
                var audit = PolicyAudit(resolved, catalog: catalog)
                return try audit.lint()
            }
            var answer = ReportAnswer(
                runID: evaluations.first?.run.id, evaluatedAt: evaluations.first.map { rfc3339($0.run.finishedAt) },
                previousRunID: evaluations.dropFirst().first?.run.id, intents: [],
                lint: lint.map { ReportAnswer.Finding(severity: $0.severity.rawValue, code: $0.code, subject: $0.subject, message: $0.message) })
            let current = evaluations.first?.rows ?? []
            let previous = evaluations.dropFirst().first?.rows
            func key(_ row: PolicyAudit.Landing) -> String { "\(row.userKey)\u{0}\(row.target.kind)\u{0}\(row.target.name.lowercased())" }
            for intent in config.policies.intents {
                let rows = current.filter { $0.intent == intent.name }
                let before = Dictionary((previous ?? []).filter { $0.intent == intent.name }.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
                let now = Dictionary(rows.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
                func row(_ landing: PolicyAudit.Landing) -> ReportAnswer.Row {
                    ReportAnswer.Row(
                        user: landing.userLabel, target: VerifyAnswer.TargetJSON(kind: landing.target.kind, name: landing.target.name),
                        reason: landing.reason?.message, reasonCode: landing.reason?.code.rawValue)
                }
                var entry = ReportAnswer.IntentJSON(
                    name: intent.name, landed: rows.filter(\.landed).map(row), notLanded: rows.filter { !$0.landed }.map(row),
                    newlyLanded: [], lost: [])
                if previous != nil {
                    entry.newlyLanded = rows.filter { $0.landed && before[key($0)]?.landed != true }.map(row)
                    entry.lost = before.values.filter { $0.landed && now[key($0)]?.landed != true }
                        .sorted { ($0.userLabel, $0.target.name) < ($1.userLabel, $1.target.name) }
                        .map { landing in
                            var lost = row(landing)
                            if let reason = now[key(landing)]?.reason {
                                lost.reason = reason.message
                                lost.reasonCode = reason.code.rawValue
                            } else {
                                lost.reason = "no longer selected by the intent"
                            }
                            return lost
                        }
                }
                answer.intents.append(entry)
            }
            return answer
        } catch {
            throw .store("\(error)")
        }
    }
}
