/// The results of a search as an `AsyncSequence` of ``LDAPSearchEvent``s, a page at a time.
///
/// While the consumer works through one page, the session's thread already reads and
/// decodes the next (one page ahead, no more), so decoding and consuming overlap instead
/// of taking turns; a slow consumer still holds back the search instead of letting entries
/// pile up in memory. A persistent search is not read ahead: its reads wait up to a second
/// for changes, and the consumer must be able to stop between them.
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
        /// The next page, being read on the session's thread while this one is consumed.
        private var ahead: Task<[LDAPSearchEvent]?, any Error>?

        init(session: LDAPSession, request: LDAPSearchRequest) {
            self.session = session
            self.request = request
        }

        /// The page being read ahead, if any (for tests).
        var pageAhead: Task<[LDAPSearchEvent]?, any Error>? { ahead }

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
                // Cancelled: thrown before the search counts as done, so dropping the
                // iterator abandons it on the server.
                try Task.checkCancellation()
                do {
                    let pending = ahead
                    ahead = nil
                    let batch: [LDAPSearchEvent]?
                    if let pending {
                        batch = try await withTaskCancellationHandler { try await pending.value } onCancel: { pending.cancel() }
                    } else {
                        batch = try await session.nextBatch(id)
                    }
                    guard let batch else {
                        finished = true
                        canceller?.isDone = true
                        return nil
                    }
                    buffer = batch
                    position = 0
                    if !request.persistent {
                        let session = session
                        ahead = Task { try await session.nextBatch(id) }
                        canceller?.ahead = ahead
                    }
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
/// A page read ahead and never asked for is discarded; the abandon runs after that read.
final class SearchCanceller: @unchecked Sendable {
    let session: LDAPSession
    let id: UInt64
    var isDone = false
    var ahead: Task<[LDAPSearchEvent]?, any Error>?

    init(session: LDAPSession, id: UInt64) {
        self.session = session
        self.id = id
    }

    deinit {
        guard !isDone else { return }
        let session = session, id = id, ahead = ahead
        Task {
            _ = try? await ahead?.value
            await session.cancelSearch(id)
        }
    }
}
