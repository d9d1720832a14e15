/// The results of a search as an `AsyncSequence` of ``LDAPSearchEvent``s. It fetches one
/// page at a time when the consumer asks for more, so a slow consumer holds back the
/// search instead of letting entries pile up in memory.
public struct LDAPSearchSequence: AsyncSequence, Sendable {
    public typealias Element = LDAPSearchEvent

    let session: LDAPSession
    let request: LDAPSearchRequest

    public func makeAsyncIterator() -> Iterator {
        Iterator(session: session, request: request)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let session: LDAPSession
        let request: LDAPSearchRequest
        private var searchID: UInt64?
        private var finished = false
        private var buffer: [LDAPSearchEvent] = []
        private var position = 0
        private var canceller: SearchCanceller?

        init(session: LDAPSession, request: LDAPSearchRequest) {
            self.session = session
            self.request = request
        }

        public mutating func next() async throws -> LDAPSearchEvent? {
            while position == buffer.count {
                if finished { return nil }
                let id: UInt64
                if let searchID {
                    id = searchID
                } else {
                    id = try await session.startSearch(request)
                    searchID = id
                    canceller = SearchCanceller(session: session, id: id)
                }
                try Task.checkCancellation()
                do {
                    guard let batch = try await session.nextBatch(id) else {
                        finished = true
                        canceller?.isDone = true
                        return nil
                    }
                    buffer = batch
                    position = 0
                } catch {
                    finished = true
                    canceller?.isDone = true
                    throw error
                }
            }
            defer { position += 1 }
            return buffer[position]
        }
    }
}

/// Abandons a search on the server when its iterator is dropped before the end.
final class SearchCanceller: @unchecked Sendable {
    let session: LDAPSession
    let id: UInt64
    var isDone = false

    init(session: LDAPSession, id: UInt64) {
        self.session = session
        self.id = id
    }

    deinit {
        guard !isDone else { return }
        let session = session, id = id
        Task { await session.cancelSearch(id) }
    }
}
