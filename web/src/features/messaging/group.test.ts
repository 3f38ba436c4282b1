import { describe, expect, it } from "vitest";
import type { Conversation, Friend, Participant } from "./api";
import { addableFriends, groupAbilities, roleLabel, sortedMembers } from "./group";

const owner: Participant = { user_id: "u-owner", username: "olga", role: "owner" };
const bob: Participant = { user_id: "u-bob", username: "bob", role: "member" };
const carol: Participant = { user_id: "u-carol", username: null, role: "member" };

function group(participants: Participant[], type: Conversation["type"] = "group"): Conversation {
  return {
    id: "c1",
    type,
    name: type === "group" ? "Picnic" : null,
    owner_id: type === "group" ? owner.user_id : null,
    participants,
    created_at: "2024-01-01T00:00:00Z",
    last_message_at: null,
    last_read_seq: 0,
    unread_count: 0,
  };
}

const friend = (user_id: string, username: string): Friend => ({ user_id, username, display_name: null, verified: false });

describe("groupAbilities", () => {
  it("lets the owner rename, add and remove members and delete the group, but not leave or remove themselves", () => {
    const can = groupAbilities(group([owner, bob, carol]), owner.user_id);
    expect([can.rename, can.add, can.leave, can.remove]).toEqual([true, true, false, true]);
    expect([owner, bob, carol].map(can.removable)).toEqual([false, true, true]);
  });

  it("lets a member only leave", () => {
    const can = groupAbilities(group([owner, bob, carol]), bob.user_id);
    expect([can.rename, can.add, can.leave, can.remove]).toEqual([false, false, true, false]);
    expect([owner, bob, carol].map(can.removable)).toEqual([false, false, false]);
  });

  it("offers nothing in a direct conversation", () => {
    const direct = group([{ ...owner, role: "member" }, bob], "direct");
    const can = groupAbilities(direct, owner.user_id);
    expect([can.rename, can.add, can.leave, can.remove, can.removable(bob)]).toEqual([false, false, false, false, false]);
  });

  it("offers leaving only to a current participant", () => {
    expect(groupAbilities(group([owner, bob]), carol.user_id).leave).toBe(false);
  });
});

describe("sortedMembers", () => {
  it("puts the owner first, then the others by name (unknown names by id)", () => {
    expect(sortedMembers([carol, bob, owner]).map((p) => p.user_id)).toEqual(["u-owner", "u-bob", "u-carol"]);
  });

  it("does not change the list it is given", () => {
    const list = [bob, owner];
    sortedMembers(list);
    expect(list).toEqual([bob, owner]);
  });
});

describe("addableFriends", () => {
  it("keeps the friends not in the group, by username", () => {
    const friends = [friend("u-zed", "zed"), friend("u-bob", "bob"), friend("u-ann", "ann")];
    expect(addableFriends(friends, [owner, bob]).map((f) => f.username)).toEqual(["ann", "zed"]);
  });

  it("is empty when every friend is already a member", () => {
    expect(addableFriends([friend("u-bob", "bob")], [owner, bob])).toEqual([]);
  });
});

describe("roleLabel", () => {
  it("names the roles", () => {
    expect([roleLabel(owner), roleLabel(bob)]).toEqual(["Owner", "Member"]);
  });
});
