import Foundation
import SyncStore
import Verification

extension SyncRunner {
    /// The landing report that ends a sync: the last run that left the store equal to its
    /// directory (applied, or no changes) evaluates all intents against the new snapshot
    /// and stores the result. Nil when no run got that far or nothing is configured.
    /// A failure here does not undo the runs; it is returned for the caller to report.
    public func evaluateLandings(after reports: [RunReport]) async -> Result<ReportAnswer, VerifyError>? {
        // Once per sync, with the last run: the store then holds every directory's new snapshot,
        // and the next sync's report compares with this one.
        guard let runID = reports.last(where: { [.applied, .noChanges].contains($0.run.outcome) })?.run.id,
              !config.policies.isEmpty else { return nil }
        do throws(VerifyError) {
            let started = ContinuousClock.now
            let service = try VerificationService(config: config, store: store, logger: logger)
            let matches = try await service.matchFilterIntents()
            try service.evaluateLandings(runID: runID, filterMatches: matches)
            let report = try service.report()
            logger.info("landing report took \(ContinuousClock.now - started)")
            return .success(report)
        } catch {
            logger.error("landing report failed", metadata: ["error": "\(error)"])
            return .failure(error)
        }
    }
}
