import Foundation
import GroupSync
import Hummingbird
import Prometheus
import SyncStore
import Verification

/// The control and query API (INTERFACE.md, `docs/openapi.yaml`). The same routes serve
/// the Unix socket and, behind the bearer token, the TCP listener.
public struct APIRoutes: Sendable {
    let state: DaemonState
    let coordinator: RunCoordinator
    let metrics: DaemonMetrics
    /// Verify answers made here (made once: the registry's lookup is not for every request).
    let routedVerifies: Counter

    public init(state: DaemonState, coordinator: RunCoordinator, metrics: DaemonMetrics) {
        self.state = state
        self.coordinator = coordinator
        self.metrics = metrics
        routedVerifies = metrics.verifyAnswers("router")
    }

    /// A router with every route; with `token`, every request must carry it.
    public func router(token: [UInt8]? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        if let token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        router.post("/v1/sync") { request, _ in try await Self.refusingUnknown(request, ["wait"]) { try await self.sync(request) } }
        router.get("/v1/runs") { request, _ in try await Self.refusingUnknown(request, ["limit", "directory"]) { try await self.runs(request) } }
        router.get("/v1/runs/{id}") { request, context in
            try await Self.refusingUnknown(request, []) { try await self.run(context.parameters.get("id", as: Int64.self)) }
        }
        router.get("/v1/status") { request, _ in try await Self.refusingUnknown(request, []) { try await self.status() } }
        router.get("/v1/verify") { request, _ in
            try await Self.refusingUnknown(request, VerifyQuery.parameters) { try await self.verify(request) }
        }
        router.get("/v1/explain") { request, _ in try await Self.refusingUnknown(request, ["user"]) { try await self.explain(request) } }
        router.get("/v1/report") { request, _ in try await Self.refusingUnknown(request, []) { try await self.report() } }
        router.get("/healthz") { _, _ in try APIResponse.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in try await self.ready() }
        router.get("/metrics") { _, _ in APIResponse.text(self.metrics.text(), contentType: "text/plain; version=0.0.4; charset=utf-8") }
        return router
    }

    /// Answers 400 for a query parameter the endpoint does not take, naming it: a mistyped
    /// `grup=` is not silently ignored, and there is no parameter through which a caller
    /// could pick the bind identity, the server or a search base.
    static func refusingUnknown(_ request: Request, _ allowed: Set<String>, _ body: () async throws -> Response) async throws -> Response {
        for (key, _) in request.uri.queryParameters where !allowed.contains(String(key)) {
            let takes = allowed.isEmpty ? "no query parameters" : "only " + allowed.sorted().joined(separator: ", ")
            return APIResponse.error("unknown query parameter \"\(key.prefix(100))\": \(request.uri.path) takes \(takes)", status: .badRequest)
        }
        return try await body()
    }

    // MARK: Sync and runs

    func sync(_ request: Request) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        var body = SyncBody()
        if buffer.readableBytes > 0 {
            do {
                body = try JSONDecoder().decode(SyncBody.self, from: Data(buffer.readableBytesView))
            } catch {
                return APIResponse.error("the body is not a sync request: \(error)", status: .badRequest)
            }
        }
        let wait = body.wait ?? (request.uri.queryParameters.get("wait").map { $0 != "false" } ?? true)
        let syncRequest = SyncRequest(
            directories: body.directories ?? body.directory.map { [$0] } ?? [], dryRun: body.dryRun ?? false,
            force: body.force ?? false, full: body.full ?? false, trigger: .api)
        do {
            if !wait {
                let started = try await coordinator.start(syncRequest)
                return try APIResponse.json(
                    StartedRuns(runs: started.map { .init(directory: $0.directory, id: $0.runID, url: $0.runID.map { "/v1/runs/\($0)" }) }),
                    status: .accepted)
            }
            let reports = try await coordinator.sync(syncRequest)
            var output = SyncJSON.SyncOutput(runs: reports.map { SyncJSON.Run($0.run, changes: $0.plan?.changes) })
            output.landing = await coordinator.landing()
            return try APIResponse.json(output)
        } catch let error as SyncError {
            return APIResponse.error(error)
        }
    }

    func runs(_ request: Request) async throws -> Response {
        let limit = request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 20
        let directory = request.uri.queryParameters.get("directory")
        let runs = try state.store.runs(directory: directory, limit: max(1, min(limit, 1000)))
        return try APIResponse.json(SyncJSON.SyncOutput(runs: runs.map { SyncJSON.Run($0) }))
    }

    func run(_ id: Int64?) async throws -> Response {
        guard let id, let run = try state.store.run(id: id) else { return APIResponse.error("no such run", status: .notFound) }
        return try APIResponse.json(SyncJSON.Run(run, changes: try state.store.changes(runID: id)))
    }

    // MARK: Status and health

    func status() async throws -> Response {
        try APIResponse.json(try await statusAnswer())
    }

    func statusAnswer() async throws -> StatusAnswer {
        var answer = try StatusAnswer.fromStore(state.store, config: await state.config)
        answer.daemon = true
        let live = await coordinator.status()
        for index in answer.directories.indices {
            guard let status = live[answer.directories[index].name] else { continue }
            answer.directories[index].running = status.running
            answer.directories[index].runningRunID = status.runningRunID ?? answer.directories[index].runningRunID
            answer.directories[index].progress = status.progress.map { StatusAnswer.Progress(phase: $0.phase, entries: $0.entries) }
            answer.directories[index].nextRun = status.nextRun.map(rfc3339)
            answer.directories[index].consecutiveFailures = status.consecutiveFailures
        }
        return answer
    }

    /// Ready: the store answers, and no directory has been failing for longer than
    /// `server.readiness_grace` (since its last success, or since it first failed).
    func ready() async throws -> Response {
        let config = await state.config
        let grace = TimeInterval(config.server.readinessGrace.components.seconds)
        var problems: [String] = []
        do {
            for directory in config.directories {
                guard let last = try state.store.runs(directory: directory.name, limit: 1).first(where: { $0.outcome != .running }),
                      last.outcome == .failed else { continue }
                let since = try state.store.lastSuccessfulRun(directory: directory.name)?.finishedAt ?? last.startedAt
                if Date().timeIntervalSince(since) > grace {
                    problems.append("directory \(directory.name) has been failing since \(rfc3339(since)): \(last.message ?? "")")
                }
            }
        } catch {
            return APIResponse.error("the store does not answer: \(error)", status: .serviceUnavailable)
        }
        if problems.isEmpty { return try APIResponse.json(["status": "ready"]) }
        return try APIResponse.json(["status": "not ready", "problems": problems.joined(separator: "; ")], status: .serviceUnavailable)
    }

    // MARK: Verification

    static let verifyPath = "/v1/verify"

    func verify(_ request: Request) async throws -> Response {
        guard let query = VerifyQuery(request.uri.queryParameters) else { return APIResponse.error("give ?user=", status: .badRequest) }
        routedVerifies.increment()
        do {
            let answer = try await state.verificationService().verify(query.user, targets: query.targets, live: query.live)
            return APIResponse.verifyJSON(answer)
        } catch {
            return APIResponse.error(error)
        }
    }

    func explain(_ request: Request) async throws -> Response {
        guard let user = request.uri.queryParameters.get("user"), !user.isEmpty else {
            return APIResponse.error("give ?user=", status: .badRequest)
        }
        do {
            let (answer, closeMatches) = try await state.verificationService().explain(user)
            guard let answer else {
                let hint = closeMatches.isEmpty ? "" : "; close matches: \(closeMatches.joined(separator: ", "))"
                return APIResponse.error("no user \"\(user)\" in the snapshot\(hint)", status: .notFound)
            }
            return try APIResponse.json(answer)
        } catch let error as VerifyError {
            return APIResponse.error(error)
        }
    }

    func report() async throws -> Response {
        do {
            return try APIResponse.json(try await state.verificationService().report())
        } catch let error as VerifyError {
            return APIResponse.error(error)
        }
    }
}
