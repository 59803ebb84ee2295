#include "porthop/relay/directory.hpp"

#include <mutex>

namespace porthop::relay {

std::size_t Directory::Hash::operator()(const FlowKey& k) const noexcept {
    return k.local.hash() * 0x9E3779B97F4A7C15ull ^ k.client.hash();
}
std::size_t Directory::Hash::operator()(const IdKey& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.id * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(k.kind));
}
std::size_t Directory::Hash::operator()(const Owner& o) const noexcept {
    return std::hash<std::uint64_t>{}(o.session * 0x9E3779B97F4A7C15ull + o.worker);
}

void Directory::erase_key(Owner owner, const Key& key) {
    if (key.is_flow) {
        if (auto it = flows_.find(key.flow); it != flows_.end() && it->second == owner) flows_.erase(it);
    } else {
        if (auto it = ids_.find(key.id); it != ids_.end() && it->second == owner) ids_.erase(it);
    }
}

void Directory::remember(Owner owner, const Key& key) {
    auto& keys = by_owner_[owner];
    keys.push_back(key);
    if (keys.size() > kMaxKeysPerSession) {
        erase_key(owner, keys.front());
        keys.pop_front();
    }
}

void Directory::set_flow(const FlowKey& key, Owner owner) {
    std::unique_lock lock(mutex_);
    if (auto it = flows_.find(key); it != flows_.end() && it->second == owner) return;  // known
    flows_.insert_or_assign(key, owner);
    remember(owner, Key{true, key, {}});
}

void Directory::set_id(IdKind kind, std::uint64_t id, Owner owner) {
    std::unique_lock lock(mutex_);
    const IdKey key{kind, id};
    if (auto it = ids_.find(key); it != ids_.end() && it->second == owner) return;  // known
    ids_.insert_or_assign(key, owner);
    remember(owner, Key{false, {}, key});
}

std::optional<Owner> Directory::flow(const FlowKey& key) const {
    std::shared_lock lock(mutex_);
    auto it = flows_.find(key);
    if (it == flows_.end()) return std::nullopt;
    return it->second;
}

std::optional<Owner> Directory::id(IdKind kind, std::uint64_t id) const {
    std::shared_lock lock(mutex_);
    auto it = ids_.find(IdKey{kind, id});
    if (it == ids_.end()) return std::nullopt;
    return it->second;
}

void Directory::erase_session(Owner owner) {
    std::unique_lock lock(mutex_);
    auto it = by_owner_.find(owner);
    if (it == by_owner_.end()) return;
    for (const auto& key : it->second) erase_key(owner, key);
    by_owner_.erase(it);
}

void Directory::move_session(Owner from, Owner to) {
    std::unique_lock lock(mutex_);
    auto it = by_owner_.find(from);
    if (it == by_owner_.end()) return;
    const std::deque<Key> keys = std::move(it->second);
    by_owner_.erase(it);
    for (const auto& key : keys) {
        Owner* value = nullptr;
        if (key.is_flow) {
            if (auto f = flows_.find(key.flow); f != flows_.end()) value = &f->second;
        } else if (auto i = ids_.find(key.id); i != ids_.end()) {
            value = &i->second;
        }
        if (!value || *value != from) continue;  // taken over by another session meanwhile
        *value = to;
        remember(to, key);
    }
}

std::size_t Directory::size() const {
    std::shared_lock lock(mutex_);
    return flows_.size() + ids_.size();
}

}  // namespace porthop::relay
