// Full-server mode: a registrar of its own. Certificates come from the local issuing CA (certs/), every
// issuance is committed to the store before the answer goes out, and signing and key generation run on the
// worker pool.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "certs/ca.hpp"
#include "certs/csr_policy.hpp"
#include "certs/journal.hpp"
#include "certs/key_envelope.hpp"
#include "certs/key_policy.hpp"
#include "certs/store.hpp"
#include "gateway/backend.hpp"
#include "gateway/voucher_registrar.hpp"
#include "gateway/worker_pool.hpp"

namespace estgw::gateway {

struct LocalBackendConfig {
    certs::CsrPolicy policy;
    certs::KeyPolicy key_policy = certs::KeyPolicy::default_policy();
    certs::IssuanceProfile profile;
    Bytes csr_attributes;                             // DER CsrAttrs for /att
    std::vector<certs::SymmetricKey> symmetric_keys;  // for DecryptKeyIdentifier (encrypted server keys)
    std::chrono::seconds busy_retry{5};
    // POST /rv (voucher_registrar.hpp); null: /rv is neither served nor advertised.
    VoucherRegistrar* voucher_registrar = nullptr;

    // Every pledge's journey (BRSKI.md §3.7): /vs, /es and enrollments over a pledge's IDevID are recorded
    // here. Null: logged only. Not owned; outlives the backend.
    certs::PledgeJournal* journal = nullptr;
    // --require-voucher: an initial enrollment (sen, skg, skc) over a client certificate that is not ours
    // needs a voucher issued to that IDevID through this registrar (a VoucherIssued step in the journal).
    // Needs the journal.
    bool require_voucher = false;
};

class LocalBackend final : public Backend {
    struct Token {};  // create() is the only way in: it builds the /crts answer first

  public:
    LocalBackend(Token, LocalBackendConfig config, const certs::IssuingCa& ca, certs::IssuanceStore& store,
                 WorkerPool& pool, Bytes cacerts);
    // Fails when the CA's /crts answer cannot be built, or require_voucher is set without a journal.
    static Result<std::unique_ptr<LocalBackend>> create(LocalBackendConfig config, const certs::IssuingCa& ca,
                                                        certs::IssuanceStore& store, WorkerPool& pool);

    EstResponse answer_now(const EstRequest& request) override;
    void submit(EstRequest request, std::shared_ptr<RequestTicket> ticket,
                std::function<void(EstResponse)> done) override;
    EstResponse overdue_answer(const RequestTicket& ticket, bool started) const override;
    std::vector<Operation> unavailable_operations() const override;
    // Ends the MASA calls in progress (shutdown, after the drain).
    void abandon_work() override;

    // Blocking; worker threads (and tests) only.
    EstResponse process(const EstRequest& request);

  private:
    EstResponse busy(std::string diagnostic) const;  // 5.03 + Max-Age
    EstResponse enroll(const EstRequest& request);
    EstResponse telemetry(const EstRequest& request);
    // --require-voucher: nullopt when the client may enroll, the refusal otherwise.
    std::optional<EstResponse> refused_without_voucher(const PeerIdentity& peer);
    // Records a step of the pledge the client is (see pledge_session in the .cpp); logs what cannot be
    // recorded. No-op without a journal or a pledge.
    void record_step(const PeerIdentity& peer, certs::JourneyStep step,
                     std::vector<std::pair<std::string, std::string>> fields);
    // Issues, commits the record, and returns the certificate as certs-only (the shape every answer needs).
    // `key` is the CSR's own (key_is_the_csrs) or a server-generated one.
    Result<Bytes> issue_and_record(const X509_REQ* csr, const EVP_PKEY* key, bool key_is_the_csrs,
                                   certs::IssuanceOperation operation, const PeerIdentity& peer);

    LocalBackendConfig config_;
    const certs::IssuingCa& ca_;
    certs::IssuanceStore& store_;
    WorkerPool& pool_;
    Bytes cacerts_;  // certs-only with the CA chain, built once
};

}  // namespace estgw::gateway
