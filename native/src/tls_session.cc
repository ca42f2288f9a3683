#include "tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <cstdio>

namespace icegate {
namespace {

// TLS 1.2 suites: Node's default list (tls.DEFAULT_CIPHERS), which `tls.createServer` in
// src/transport/stream-listener.ts uses. TLS 1.3 keeps OpenSSL's default suites, which are
// Node's too (AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM).
constexpr const char* kCipherList =
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:"
    "DHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA256:"
    "DHE-RSA-AES256-SHA256:HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA";

constexpr unsigned char kSessionIdContext[] = "icegate";

// An encrypted key must fail, never prompt on the terminal (OpenSSL's default callback would).
int NoPassphrase(char*, int, int, void*) { return 0; }

// "<what>: <first queued OpenSSL error>", and the thread's error queue left empty (the N-API
// wrapper runs on Node's main thread, whose own TLS code reads the same queue).
std::string TakeError(const char* what, const char* fallback) {
  std::string out(what);
  out += ": ";
  const unsigned long code = ERR_get_error();
  if (code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    out += text;
  } else {
    out += fallback;
  }
  ERR_clear_error();
  return out;
}

struct BioCloser {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioCloser>;

BioPtr MemoryOf(const std::string& text) {
  if (text.size() > static_cast<size_t>(INT_MAX)) return BioPtr();
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// SendV gathers a frame's parts here before SSL_write, so the frame becomes one record. One
// buffer per data thread (a session is used by one thread only; the buffer is empty between calls).
thread_local std::vector<uint8_t> send_staging;

}  // namespace

std::shared_ptr<TlsContext> TlsContext::FromPem(const std::string& cert_chain_pem, const std::string& key_pem,
                                                std::string* error) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) {
    *error = TakeError("SSL_CTX_new", "failed");
    return nullptr;
  }
  std::shared_ptr<TlsContext> ctx(new TlsContext(raw));

  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1 || SSL_CTX_set_cipher_list(raw, kCipherList) != 1) {
    *error = TakeError("TLS context", "cannot set protocol version or ciphers");
    return nullptr;
  }
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // As tls.createServer without session listeners: no server-side session cache (so no lock shared
  // by the data threads); resumption through stateless tickets, whose keys OpenSSL makes at random
  // per context. TLS 1.3 sends two tickets after each full handshake (OpenSSL's default).
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_set_session_id_context(raw, kSessionIdContext, sizeof(kSessionIdContext) - 1);

  BioPtr cert_bio = MemoryOf(cert_chain_pem);
  if (!cert_bio) {
    *error = "certificate: PEM too large";
    return nullptr;
  }
  X509* leaf = PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, NoPassphrase, nullptr);
  if (leaf == nullptr) {
    *error = TakeError("certificate", "no PEM certificate");
    return nullptr;
  }
  const int used = SSL_CTX_use_certificate(raw, leaf);
  X509_free(leaf);
  if (used != 1) {
    *error = TakeError("certificate", "rejected");
    return nullptr;
  }
  // The rest of the chain, in order (intermediates); the read that finds no more PEM ends it.
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, NoPassphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(raw, extra) != 1) {
      X509_free(extra);
      *error = TakeError("certificate chain", "rejected");
      return nullptr;
    }
  }
  ERR_clear_error();

  BioPtr key_bio = MemoryOf(key_pem);
  if (!key_bio) {
    *error = "private key: PEM too large";
    return nullptr;
  }
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr);
  if (key == nullptr) {
    *error = TakeError("private key", "no PEM private key (or an encrypted one)");
    return nullptr;
  }
  const int key_used = SSL_CTX_use_PrivateKey(raw, key);
  EVP_PKEY_free(key);
  if (key_used != 1 || SSL_CTX_check_private_key(raw) != 1) {
    *error = TakeError("private key", "does not match the certificate");
    return nullptr;
  }
  return ctx;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsSession::TlsSession(std::shared_ptr<TlsContext> ctx) : ctx_(std::move(ctx)) {
  ssl_ = SSL_new(ctx_->native());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || in_ == nullptr || out_ == nullptr) {
    // Out of memory: the session answers every call with an error.
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    SSL_free(ssl_);
    ssl_ = nullptr;
    failed_ = true;
    ERR_clear_error();
    return;
  }
  // An empty input BIO means "wait for more" (SSL_ERROR_WANT_READ), not end of stream.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);  // ssl_ owns both BIOs from here
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::Drain(std::vector<uint8_t>* cipher_out) {
  const size_t pending = BIO_ctrl_pending(out_);
  if (pending == 0) return;
  const size_t old = cipher_out->size();
  cipher_out->resize(old + pending);
  size_t got = 0;
  if (BIO_read_ex(out_, cipher_out->data() + old, pending, &got) != 1) got = 0;
  cipher_out->resize(old + got);
}

bool TlsSession::Fail(const char* what, std::vector<uint8_t>* cipher_out, std::string* error) {
  failed_ = true;
  const int code = ssl_ != nullptr ? SSL_get_error(ssl_, -1) : SSL_ERROR_SSL;
  char fallback[64];
  std::snprintf(fallback, sizeof(fallback), "SSL error %d", code);
  *error = TakeError(what, fallback);
  if (ssl_ != nullptr) Drain(cipher_out);  // the alert OpenSSL queued for the peer
  return false;
}

bool TlsSession::Receive(const uint8_t* data, size_t n, std::vector<uint8_t>* plain,
                         std::vector<uint8_t>* cipher_out, std::string* error) {
  if (failed_) {
    *error = "TLS session already failed";
    return false;
  }
  ERR_clear_error();
  while (n > 0) {
    size_t written = 0;
    if (BIO_write_ex(in_, data, n, &written) != 1 || written == 0) {
      return Fail("TLS input buffer", cipher_out, error);
    }
    data += written;
    n -= written;
  }
  if (!handshake_done_) {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      const int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return Fail("TLS handshake", cipher_out, error);
      Drain(cipher_out);
      return true;
    }
    handshake_done_ = true;
  }
  // Records after the handshake: application data straight into *plain (at most one record of
  // plaintext per SSL_read), post-handshake messages (KeyUpdate, tickets), alerts.
  while (!peer_closed_) {
    if (BIO_ctrl_pending(in_) == 0 && SSL_has_pending(ssl_) == 0) break;
    const size_t old = plain->size();
    plain->resize(old + kTlsMaxRecordPlaintext);
    size_t got = 0;
    const int r = SSL_read_ex(ssl_, plain->data() + old, kTlsMaxRecordPlaintext, &got);
    plain->resize(old + (r == 1 ? got : 0));
    if (r == 1) continue;
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      break;
    }
    return Fail("TLS record", cipher_out, error);
  }
  Drain(cipher_out);
  return true;
}

bool TlsSession::WriteRecords(const uint8_t* data, size_t n, std::string* error) {
  // The memory BIO takes everything, so SSL_write_ex writes all n bytes: records of up to
  // 16 KiB, i.e. ceil(n / 16 KiB) records.
  size_t written = 0;
  if (SSL_write_ex(ssl_, data, n, &written) != 1 || written != n) {
    failed_ = true;
    *error = TakeError("TLS write", "failed");
    return false;
  }
  return true;
}

bool TlsSession::Send(const uint8_t* data, size_t n, std::vector<uint8_t>* cipher_out, std::string* error) {
  const struct iovec part = {const_cast<uint8_t*>(data), n};
  return SendV(&part, 1, cipher_out, error);
}

bool TlsSession::SendV(const struct iovec* parts, size_t count, std::vector<uint8_t>* cipher_out,
                       std::string* error) {
  if (failed_ || !handshake_done_ || shut_down_) {
    *error = failed_ ? "TLS session already failed" : shut_down_ ? "TLS session shut down" : "TLS handshake not done";
    return false;
  }
  ERR_clear_error();
  if (count == 1) {  // one buffer: already as few records as possible, no copy
    const bool written = parts[0].iov_len == 0 ||
                         WriteRecords(static_cast<const uint8_t*>(parts[0].iov_base), parts[0].iov_len, error);
    Drain(cipher_out);
    return written;
  }
  std::vector<uint8_t>& staging = send_staging;
  staging.clear();
  if (staging.capacity() < kTlsMaxRecordPlaintext) staging.reserve(kTlsMaxRecordPlaintext);
  bool ok = true;
  for (size_t i = 0; ok && i < count; ++i) {
    const uint8_t* p = static_cast<const uint8_t*>(parts[i].iov_base);
    size_t len = parts[i].iov_len;
    while (ok && len > 0) {
      if (staging.empty() && len >= kTlsMaxRecordPlaintext) {
        // A part of a frame larger than a record: its whole records straight from the caller's
        // memory, no copy.
        const size_t whole = len - len % kTlsMaxRecordPlaintext;
        ok = WriteRecords(p, whole, error);
        p += whole;
        len -= whole;
        continue;
      }
      const size_t take = std::min(len, kTlsMaxRecordPlaintext - staging.size());
      staging.insert(staging.end(), p, p + take);
      p += take;
      len -= take;
      if (staging.size() == kTlsMaxRecordPlaintext) {
        ok = WriteRecords(staging.data(), staging.size(), error);
        staging.clear();
      }
    }
  }
  if (ok && !staging.empty()) ok = WriteRecords(staging.data(), staging.size(), error);
  staging.clear();
  Drain(cipher_out);
  return ok;
}

void TlsSession::Shutdown(std::vector<uint8_t>* cipher_out) {
  if (ssl_ == nullptr || shut_down_) return;
  shut_down_ = true;
  if (handshake_done_ && !failed_) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // queues close_notify; the peer's answer, if any, comes through Receive
    ERR_clear_error();
  }
  Drain(cipher_out);
}

std::string TlsSession::protocol() const { return ssl_ != nullptr ? SSL_get_version(ssl_) : "none"; }

}  // namespace icegate
