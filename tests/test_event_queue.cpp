// The engine's timed events (sim/engine/event_queue.hpp): in time order, first in first out at one instant (events
// set for now while the queue runs included), cancelled ones never run.
#include "event_queue.hpp"
#include "support.hpp"
#include <doctest/doctest.h>
#include <limits>
#include <simgrid/s4u.hpp>

using namespace fs;
namespace s4u = simgrid::s4u;

namespace {
// What `f(engine)` returns, run in a child process on a one-host platform (one SimGrid engine per process).
template <class F> Json on_one_host(F f)
{
  return test::in_child([f] {
    int argc = 1;
    char arg0[] = "test";
    char* argv[] = {arg0, nullptr};
    s4u::Engine e(&argc, argv);
    auto* zone = s4u::create_full_zone("z");
    zone->create_host("h", 1e9);
    zone->seal();
    return f(e);
  });
}
} // namespace

TEST_CASE("event queue: time order, first in first out at one instant, cancel")
{
  const Json got = on_one_host([](s4u::Engine& e) {
    Json order = Json::array();
    bool empty_before = true, empty_after = false;
    {
      EventQueue q;
      auto note = [&](const char* name) { order.push_back({name, s4u::Engine::get_clock()}); };
      q.at(2.0, [&] { note("A"); });
      EventQueue::Handle x;
      q.at(1.0, [&] {
        note("B");
        q.at(s4u::Engine::get_clock(), [&] { // now: after C, set before it
          note("E");
          q.at(s4u::Engine::get_clock(), [&] { note("F"); }); // now again: after X's place
        });
        x = q.at(s4u::Engine::get_clock(), [&] { note("X"); }); // now, cancelled by C before its turn
        q.at(1.5, [&] { note("G"); });
      });
      q.at(1.0, [&] {
        note("C");
        q.cancel(x);
      });
      const EventQueue::Handle d = q.at(1.0, [&] { note("D"); });
      q.cancel(d);
      q.cancel(d); // twice: a no-op
      const EventQueue::Handle h = q.at(0.5, [&] { note("H"); });
      q.cancel(h); // the earliest, cancelled: the queue arms for what is left
      empty_before = q.empty();
      e.run();
      empty_after = q.empty();
    }
    return Json{{"order", order}, {"empty_before", empty_before}, {"empty_after", empty_after}};
  });
  const Json want = Json::array({Json::array({"B", 1.0}), Json::array({"C", 1.0}), Json::array({"E", 1.0}),
                                 Json::array({"F", 1.0}), Json::array({"G", 1.5}), Json::array({"A", 2.0})});
  CHECK(got["order"] == want);
  CHECK_FALSE(got["empty_before"].get<bool>());
  CHECK(got["empty_after"].get<bool>());
}

TEST_CASE("event queue running ahead of SimGrid's clock: the same order, events for now included")
{
  const Json got = on_one_host([](s4u::Engine& e) {
    Json order = Json::array();
    {
      EventQueue q;
      // SimGrid never has anything to do: every instant runs in one round.
      q.run_ahead_until([] { return std::numeric_limits<double>::infinity(); });
      auto note = [&](const char* name) { order.push_back({name, q.now()}); };
      q.at(1.0, [&] {
        note("A");
        q.at(q.now(), [&] { note("C"); });
        q.at(2.0, [&] {
          note("D");
          q.at(q.now(), [&] { note("F"); });
        });
      });
      q.at(1.0, [&] { note("B"); });
      q.at(2.0, [&] { note("E"); });
      e.run();
    }
    return Json{{"order", order}};
  });
  const Json want = Json::array({Json::array({"A", 1.0}), Json::array({"B", 1.0}), Json::array({"C", 1.0}),
                                 Json::array({"E", 2.0}), Json::array({"D", 2.0}), Json::array({"F", 2.0})});
  CHECK(got["order"] == want);
}

TEST_CASE("event queue running ahead stops before SimGrid's horizon")
{
  const Json got = on_one_host([](s4u::Engine& e) {
    Json order = Json::array();
    long ahead = -1;
    {
      EventQueue q;
      q.run_ahead_until([] { return 2.5; }); // SimGrid does something at 2.5: instants from there wait for its rounds
      for (double t : {1.0, 2.0, 2.5, 3.0})
        q.at(t, [&order, &q] { order.push_back({q.now(), s4u::Engine::get_clock()}); });
      e.run();
      ahead = q.ran_ahead();
    }
    return Json{{"order", order}, {"ahead", ahead}};
  });
  // 2.0 ran in the round of 1.0, SimGrid's clock still at 1.0; 2.5 and 3.0 each in a round of their own.
  const Json want =
      Json::array({Json::array({1.0, 1.0}), Json::array({2.0, 1.0}), Json::array({2.5, 2.5}), Json::array({3.0, 3.0})});
  CHECK(got["order"] == want);
  CHECK(got["ahead"] == 1);
}
