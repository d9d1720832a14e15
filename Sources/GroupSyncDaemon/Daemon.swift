import Foundation
import GroupSync
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import SyncConfig
import SyncStore
import UnixSignals

/// `groupsync serve`: the run coordinator, the scheduler, the configuration reloader
/// (SIGHUP) and the HTTP API (Unix socket, optional TCP with a token) as one ServiceGroup.
/// SIGTERM and SIGINT shut it down gracefully: the coordinator goes first, cancelling a
/// run before its apply (or letting an apply that has begun commit), then the rest.
public struct Daemon: Sendable {
    public let state: DaemonState
    public let coordinator: RunCoordinator
    public let metrics: DaemonMetrics
    public let routes: APIRoutes
    let clock: any WallClock
    let logger: Logger

    public init(config: GroupSyncConfig, store: any SnapshotStore, logger: Logger, clock: any WallClock = SystemWallClock()) {
        self.logger = logger
        self.clock = clock
        metrics = DaemonMetrics()
        state = DaemonState(config: config, store: store, logger: logger, metrics: metrics)
        coordinator = RunCoordinator(state: state, metrics: metrics)
        routes = APIRoutes(state: state, coordinator: coordinator, metrics: metrics)
    }

    /// Runs until SIGTERM or SIGINT. Throws when it cannot start: another daemon answers
    /// on the socket, the TCP address is taken, the token file is unusable.
    public func run() async throws {
        let config = await state.config
        await state.prepareAnswers()
        let socket = config.controlSocket
        try Self.claimSocket(socket)
        var services: [any Service] = []
        let answered = metrics.verifyAnswers("event_loop")
        /// HTTP/1 with verify answered on the event loop (`FastVerifyHandler`) ahead of the router.
        func server(token: [UInt8]?) -> HTTPServerBuilder {
            let answers = state.indexed
            return .verifyFirst { FastVerifyHandler(answers: answers, token: token, serverName: Self.serverName, answered: answered) }
        }
        let unixApp = Application(
            router: routes.router(),
            server: server(token: nil),
            configuration: ApplicationConfiguration(address: .unixDomainSocket(path: socket), serverName: Self.serverName),
            onServerRunning: { _ in chmod(socket, 0o660) },
            logger: logger)
        services.append(unixApp)
        if let listen = config.server.listen {
            guard let tokenFile = config.server.tokenFile else { throw DaemonError("server.listen needs server.token_file") }
            let token = try BearerTokenMiddleware<BasicRequestContext>.readToken(tokenFile)
            let colon = listen.lastIndex(of: ":")!
            let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            let port = Int(listen[listen.index(after: colon)...])!
            services.append(Application(
                router: routes.router(token: token),
                server: server(token: token),
                configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: Self.serverName),
                logger: logger))
        }
        services.append(ReloadService(state: state))
        services.append(SchedulerService(state: state, coordinator: coordinator, clock: clock))
        services.append(WatchService(state: state, coordinator: coordinator))
        if let ownership = state.ownership {
            services.append(LeaseService(ownership: ownership, state: state, coordinator: coordinator))
        }
        services.append(coordinator)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("groupsync serve started", metadata: [
            "socket": "\(socket)", "listen": "\(config.server.listen ?? "-")", "directories": "\(config.directories.map(\.name))",
        ])
        try await group.run()
        try? FileManager.default.removeItem(atPath: socket)
        logger.info("groupsync serve stopped")
    }

    static let serverName = "groupsync"

    /// A socket file that a live daemon answers on is refused; a stale one (no one
    /// listening) is removed by the server when it binds.
    static func claimSocket(_ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        guard FileManager.default.fileExists(atPath: path) else { return }
        if DaemonClient.answers(socket: path) {
            throw DaemonError("another groupsync serve answers on \(path); stop it first")
        }
    }
}

/// SIGHUP: read the configuration file again (an invalid one is logged; the old one stays).
struct ReloadService: Service {
    let state: DaemonState

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                await state.reload()
            }
        }
    }
}
