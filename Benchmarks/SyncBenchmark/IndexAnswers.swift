import Foundation
import GroupSync
import SyncConfig
import SyncStore

/// What one `GET /v1/verify` costs the daemon in answering alone: the verification from the
/// in-memory index and the JSON, for `queries` users spread over the directory (no HTTP),
/// asking what the API load asks (`APILoad`'s wrk script).
struct IndexAnswers {
    let configPath: String
    let users: Int

    struct Figures {
        var microsecondsPerAnswer: Double
        var buildSeconds: Double
        var answers: Int
        /// Microseconds: the 99th percentile and the slowest single answer.
        var p99: Double
        var max: Double
    }

    func run(queries: Int = 200_000) throws -> Figures {
        let config = try ConfigLoader.load(path: configPath)
        let store = try config.store.open()
        let started = ContinuousClock.now
        let service = try VerificationService(config: config, store: store, index: try store.loadIndex())
        let build = ContinuousClock.now - started
        var bytes = 0
        var each: [Double] = []
        each.reserveCapacity(queries)
        let clock = ContinuousClock.now
        for query in 0..<queries {
            let user = (query * 7919) % users
            let started = ContinuousClock.now
            let answer = try service.verifySnapshot("u\(user)", targets: [.policy("Permitted Senders"), .group("g\(user % 1000)")])
            bytes &+= answer.jsonBytes().count
            each.append(seconds(ContinuousClock.now - started) * 1e6)
        }
        let elapsed = ContinuousClock.now - clock
        precondition(bytes > 0)
        each.sort()
        return Figures(
            microsecondsPerAnswer: seconds(elapsed) * 1e6 / Double(queries), buildSeconds: seconds(build), answers: queries,
            p99: each[each.count * 99 / 100], max: each[each.count - 1])
    }
}
