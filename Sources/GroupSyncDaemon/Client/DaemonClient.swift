import Foundation

/// How the command line reaches a running daemon: HTTP/1.1 over the Unix socket, or over
/// TCP (`--server http://host:port`) with the bearer token. Small and blocking on
/// purpose (one request, `Connection: close`), run off the cooperative pool.
public struct DaemonClient: Sendable {
    public enum Endpoint: Sendable {
        case unix(String)
        case tcp(host: String, port: Int)
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public let endpoint: Endpoint
    public let token: String?
    /// How long to wait for an answer (a sync that waits for its run can take minutes).
    public var timeout: TimeInterval

    public init(endpoint: Endpoint, token: String? = nil, timeout: TimeInterval = 3600) {
        self.endpoint = endpoint
        self.token = token
        self.timeout = timeout
    }

    /// `http://host:port` (a path after it is ignored).
    public init(url: String, token: String?, timeout: TimeInterval = 3600) throws {
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host else {
            throw DaemonError("--server takes http://HOST:PORT, found \(url)")
        }
        self.init(endpoint: .tcp(host: host, port: components.port ?? 80), token: token, timeout: timeout)
    }

    /// Whether something accepts connections on the socket (a live daemon).
    public static func answers(socket: String) -> Bool {
        guard let fd = try? connect(.unix(socket), timeout: 2) else { return false }
        close(fd)
        return true
    }

    public func request(_ method: String, _ path: String, body: Data? = nil) async throws -> Response {
        let client = self
        // A thread of its own: a request may block for as long as a sync runs, and blocking
        // dispatch's shared workers (which Swift concurrency also runs on) starves them.
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try client.requestBlocking(method, path, body: body) })
            }
            thread.start()
        }
    }

    func requestBlocking(_ method: String, _ path: String, body: Data?) throws -> Response {
        let fd = try Self.connect(endpoint, timeout: timeout)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: groupsync\r\nConnection: close\r\nAccept: application/json\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        var request = Data((head + "\r\n").utf8)
        if let body { request.append(body) }
        try Self.send(request, to: fd, timeout: timeout)
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { break }
            // A daemon that answered early and closed on unread request bytes resets the
            // connection after its answer: what arrived is the answer.
            if count < 0 && errno == ECONNRESET && !received.isEmpty { break }
            guard count > 0 else {
                throw DaemonError(errno == EAGAIN ? "the daemon did not answer within \(Int(timeout)) s" : "cannot read from the daemon: \(String(cString: strerror(errno)))")
            }
            received.append(contentsOf: buffer[0..<count])
        }
        return try Self.parse(received)
    }

    /// Sends the request, unless the daemon answers first: it refuses a request it will not
    /// read to the end (a 1 MB URL, say) with an early 400 and stops reading, and a client
    /// that kept pushing would wait out its timeout instead of reading that answer.
    static func send(_ request: Data, to fd: Int32, timeout: TimeInterval) throws {
        try request.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                var poller = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
                let ready = poll(&poller, 1, Int32(min(timeout * 1000, Double(Int32.max))))
                guard ready > 0 else {
                    throw DaemonError(ready == 0 ? "the daemon did not take the request within \(Int(timeout)) s" : "cannot wait for the daemon: \(String(cString: strerror(errno)))")
                }
                // An answer (or a hang-up) before the request is out: read it.
                if poller.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { return }
                let written = Glibc.send(fd, raw.baseAddress! + offset, min(raw.count - offset, 65536), Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                if written < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                if written < 0 && (errno == EPIPE || errno == ECONNRESET) { return }  // the answer, if any, is waiting
                guard written > 0 else { throw DaemonError("cannot send to the daemon: \(String(cString: strerror(errno)))") }
                offset += written
            }
        }
    }

    static func parse(_ data: Data) throws -> Response {
        guard let end = data.firstRange(of: Data("\r\n\r\n".utf8)) else { throw DaemonError("the daemon sent an incomplete HTTP response") }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = head.first?.split(separator: " ") ?? []
        guard parts.count >= 2, let status = Int(parts[1]) else { throw DaemonError("the daemon sent a malformed status line") }
        var body = Data(data[end.upperBound...])
        let headers = head.dropFirst().map { $0.lowercased() }
        if headers.contains(where: { $0.hasPrefix("transfer-encoding:") && $0.contains("chunked") }) {
            body = try dechunk(body)
        }
        return Response(status: status, body: body)
    }

    static func dechunk(_ data: Data) throws -> Data {
        var result = Data()
        var rest = data[...]
        while let lineEnd = rest.firstRange(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw DaemonError("malformed chunked body") }
            if size == 0 { break }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else { throw DaemonError("truncated chunked body") }
            let chunkEnd = rest.index(start, offsetBy: size)
            result.append(rest[start..<chunkEnd])
            rest = rest[rest.index(chunkEnd, offsetBy: 2)...]
        }
        return result
    }

    static func connect(_ endpoint: Endpoint, timeout: TimeInterval) throws -> Int32 {
        switch endpoint {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw DaemonError("cannot create a socket") }
            setTimeout(fd, timeout)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                close(fd)
                throw DaemonError("the socket path \(path) is too long")
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
                raw[bytes.count] = 0
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw DaemonError("cannot connect to the daemon on \(path): \(reason)")
            }
            return fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var info: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else {
                throw DaemonError("cannot resolve \(host)")
            }
            defer { freeaddrinfo(info) }
            var candidate: UnsafeMutablePointer<addrinfo>? = first
            var lastError = "no address"
            while let entry = candidate {
                let fd = socket(entry.pointee.ai_family, entry.pointee.ai_socktype, entry.pointee.ai_protocol)
                if fd >= 0 {
                    setTimeout(fd, timeout)
                    if Glibc.connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 { return fd }
                    lastError = String(cString: strerror(errno))
                    close(fd)
                }
                candidate = entry.pointee.ai_next
            }
            throw DaemonError("cannot connect to \(host):\(port): \(lastError)")
        }
    }

    static func setTimeout(_ fd: Int32, _ seconds: TimeInterval) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }
}
