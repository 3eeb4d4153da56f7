from vaxreport import refdata


def test_cccd_codes_are_three_digit_strings():
    df = refdata.cccd_provinces()
    assert len(df) == 63
    assert df.cccd_code.str.fullmatch(r"\d{3}").all()
    assert df.cccd_code.is_unique


def test_vaccine_aliases_do_not_collide():
    df = refdata.vaccines()
    aliases = df.aliases.str.split("|").explode().str.casefold()
    assert aliases.is_unique


def test_phone_migration_keeps_seven_digits():
    df = refdata.phone_migration()
    assert df.old_prefix.str.fullmatch(r"01\d\d").all()
    assert df.new_prefix.str.fullmatch(r"0\d\d").all()
    assert df.old_prefix.is_unique and df.new_prefix.is_unique
