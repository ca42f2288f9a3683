// Server-side TLS over memory BIOs, for client connections the data threads own (TURN over TLS,
// RFC 8656 §3.1 / RFC 7350). Uses the OpenSSL that Node bundles and exports (its headers ship in
// include/node/openssl), so no second TLS library is loaded into the process.
//
// A TlsSession never touches a socket: the caller feeds it the bytes it read (Receive) and writes
// whatever lands in *cipher_out. It is used by one thread only and takes no lock.
#ifndef ICEGATE_TLS_SESSION_H_
#define ICEGATE_TLS_SESSION_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace icegate {

// Largest TLS plaintext record (RFC 8446 §5.1, RFC 5246 §6.2.1).
constexpr size_t kTlsMaxRecordPlaintext = 16384;

class TlsContext {  // immutable after creation; shared by connections (std::shared_ptr)
 public:
  // Server context from a PEM certificate chain (leaf first) and its private key. TLS 1.2 minimum
  // (TLS_MIN_VERSION in src/transport/tls-certificates.ts), Node's default cipher list, no
  // compression, no renegotiation, stateless session tickets (OpenSSL's default: two per TLS 1.3
  // handshake) as tls.createServer does. nullptr and *error on a bad certificate or key.
  static std::shared_ptr<TlsContext> FromPem(const std::string& cert_chain_pem, const std::string& key_pem,
                                             std::string* error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

class TlsSession {  // one per connection, used by one thread only
 public:
  explicit TlsSession(std::shared_ptr<TlsContext> ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Bytes read from the socket. Appends decrypted application bytes to *plain and any bytes that
  // must be written to the socket (handshake, alerts, tickets) to *cipher_out. false: fatal error
  // (handshake failure, bad record, peer alert): *error says what; write *cipher_out then close.
  bool Receive(const uint8_t* data, size_t n, std::vector<uint8_t>* plain, std::vector<uint8_t>* cipher_out,
               std::string* error);
  // One TURN frame to send (only when handshake_done()); appends its record(s) to *cipher_out.
  // One frame → one record (up to 16 KiB of plaintext; a larger frame takes ceil(n / 16 KiB)).
  // Never give several frames in one call: coturn's uclient reads one frame per TLS record and
  // counts the rest of a record as lost (docs/tls-records.md). Call Send once per frame and batch
  // at the syscall level instead (many records in one write buffer, one write()).
  bool Send(const uint8_t* data, size_t n, std::vector<uint8_t>* cipher_out, std::string* error);
  // The parts of ONE frame (e.g. ChannelData header, payload, padding), gathered into one record
  // as if they were one buffer.
  bool SendV(const struct iovec* parts, size_t count, std::vector<uint8_t>* cipher_out, std::string* error);
  bool handshake_done() const { return handshake_done_; }
  bool peer_closed() const { return peer_closed_; }  // close_notify received
  void Shutdown(std::vector<uint8_t>* cipher_out);   // our close_notify
  std::string protocol() const;                      // "TLSv1.3" etc, for logs/tests

 private:
  bool Fail(const char* what, std::vector<uint8_t>* cipher_out, std::string* error);
  bool WriteRecords(const uint8_t* data, size_t n, std::string* error);
  void Drain(std::vector<uint8_t>* cipher_out);

  std::shared_ptr<TlsContext> ctx_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // socket bytes → OpenSSL (owned by ssl_)
  BIO* out_ = nullptr;  // OpenSSL → socket bytes (owned by ssl_)
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  bool failed_ = false;
  bool shut_down_ = false;
};

}  // namespace icegate

#endif  // ICEGATE_TLS_SESSION_H_
