def test_a_new_user_registers_and_signs_in_through_the_api(client, new_user):
    user = new_user()

    response = client.get("/api/auth/me", headers=user.headers)

    assert response.status_code == 200, response.json
    assert response.json["id"] == user.id
    assert response.json["username"] == user.username
    assert response.json["email"] == user.email
    assert response.json["phone"] == user.phone
    assert response.json["roles"] == ["user"]
    assert response.json["verified"] is False
    assert response.json["totp_enabled"] is False
    assert not {"password", "password_hash", "totp_secret"} & set(response.json)


def test_staff_tokens_carry_the_staff_role(client, new_staff):
    staff = new_staff()

    assert client.get("/api/auth/me", headers=staff.headers).json["roles"] == ["user", "staff"]
