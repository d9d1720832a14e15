import Foundation
import GroupSync
import SyncConfig
import SyncStore
import Synchronization

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

    /// `threads` threads ask `queries` questions each at once, as the daemon's event loops do
    /// under load; the mean is per answer on one thread (its wall time over its answers).
    func run(queries: Int = 200_000, threads: Int = 1) throws -> Figures {
        let config = try ConfigLoader.load(path: configPath)
        let store = try config.store.open()
        let started = ContinuousClock.now
        let service = try VerificationService(config: config, store: store, index: try store.loadIndex())
        let build = ContinuousClock.now - started
        let results = Mutex<[(elapsed: Double, each: [Double])]>([])
        let failure = Mutex<(any Error)?>(nil)
        let users = users
        let workers = (0..<threads).map { thread in
            Thread {
                do {
                    var bytes = 0
                    var each: [Double] = []
                    each.reserveCapacity(queries)
                    let clock = ContinuousClock.now
                    for query in 0..<queries {
                        let user = (query * 7919 + thread * 50_021) % users
                        let started = ContinuousClock.now
                        let answer = try service.verifySnapshot("u\(user)", targets: [.policy("Permitted Senders"), .group("g\(user % 1000)")])
                        bytes &+= answer.jsonBytes().count
                        each.append(seconds(ContinuousClock.now - started) * 1e6)
                    }
                    precondition(bytes > 0)
                    let elapsed = seconds(ContinuousClock.now - clock)
                    results.withLock { $0.append((elapsed, each)) }
                } catch {
                    failure.withLock { $0 = error }
                    results.withLock { $0.append((0, [])) }
                }
            }
        }
        for worker in workers { worker.start() }
        while results.withLock({ $0.count }) < threads { usleep(10_000) }
        if let error = failure.withLock({ $0 }) { throw error }
        let all = results.withLock { $0 }
        var each = all.flatMap(\.each)
        each.sort()
        let mean = all.map { $0.elapsed * 1e6 / Double(queries) }.reduce(0, +) / Double(threads)
        return Figures(
            microsecondsPerAnswer: mean, buildSeconds: seconds(build), answers: queries * threads,
            p99: each[each.count * 99 / 100], max: each[each.count - 1])
    }
}
