// What the SQL stores (certs/sqlite_store.cpp, certs/postgres_store.cpp) write alike, so that a record or a
// journey step reads back the same from either.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "certs/journal.hpp"

namespace estgw::certs {

// Serials are stored uppercase and looked up uppercased: "hex, any case" in the interfaces.
std::string uppercase_serial(std::string_view serial);

// A journey step's fields as stored: a JSON object of strings in the order given, read back in that order
// by the database's own JSON functions (SQLite json_each, PostgreSQL json_each_text on the json type, both of
// which keep the text's order), so that no JSON parser is needed here.
std::string journey_fields_json(const std::vector<std::pair<std::string, std::string>>& fields);

// The LDevID serial an Enrolled step links to its pledge (uppercase); empty for every other step.
std::string linked_ldevid_serial(const JourneyEvent& event);

}  // namespace estgw::certs
