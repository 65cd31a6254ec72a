#!/usr/bin/env python3
"""Generates domain/data/common-passwords.txt: passwords too common to accept.

The list is built from patterns seen across published analyses of leaked-password corpora
(Chinese and international): digit runs, lucky and romantic numbers, keyboard walks, calendar
dates, and popular words and names with the suffixes people add. Only candidates of 8 or more
characters are kept (shorter ones are refused by length anyway). Output is lower-case, one a
line, sorted; matching in the service is case-insensitive.

Run: python3 scripts/common-passwords.py > domain/data/common-passwords.txt
"""
import itertools

out = set()

def add(word):
    if 8 <= len(word) <= 128:
        out.add(word.lower())

# Digit runs and repetitions.
for d in "0123456789":
    for n in range(8, 13):
        add(d * n)
asc = "01234567890123456789"
for start in range(10):
    for n in range(8, 12):
        add(asc[start:start + n])
        add(asc[start:start + n][::-1])
for pair in ["12", "21", "13", "14", "52", "66", "88", "98", "99", "00", "01", "10", "11", "69", "96"]:
    add(pair * 4)
    add(pair * 5)
for triple in ["123", "321", "520", "521", "168", "666", "888", "999", "147", "258", "369", "159", "357", "789", "456", "110", "119", "911", "007", "abc"]:
    add(triple * 3)
    add(triple * 4)
for quad in ["1234", "4321", "5201", "1314", "2580", "1111", "1212", "1122", "6688", "8899", "0000", "1357", "2468", "9876", "abcd", "qwer", "asdf", "zxcv"]:
    add(quad * 2)
    add(quad * 3)
for word in ["5201314", "1314520", "52013140", "13145200", "520131400", "1314521", "147258369",
             "741852963", "789456123", "147852369", "963852741", "159357456", "123654789",
             "159753852", "12345678910", "1234567899", "11223344", "1122334455", "112233445566",
             "123321123", "123456654321", "100200300", "10203040", "a123456789"]:
    add(word)

# Calendar dates, as people type birthdays: YYYYMMDD.
days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
for year in range(1950, 2016):
    for month, last in enumerate(days, start=1):
        for day in range(1, last + 1):
            add(f"{year}{month:02d}{day:02d}")

# Keyboard walks.
for walk in ["qwertyui", "qwertyuiop", "asdfghjk", "asdfghjkl", "zxcvbnm,", "1qaz2wsx", "1qaz2wsx3edc",
             "1q2w3e4r", "1q2w3e4r5t", "1q2w3e4r5t6y", "qazwsxedc", "qazwsxedcrfv", "zaq12wsx",
             "zaq1xsw2", "!qaz2wsx", "!qaz@wsx", "qwer1234", "asdf1234", "zxcv1234", "1234qwer",
             "1234asdf", "1234abcd", "abcd1234", "a1b2c3d4", "a1b2c3d4e5", "q1w2e3r4", "q1w2e3r4t5",
             "qweasdzxc", "qweasd123", "asdqwe123", "qwe123456", "qwerty123", "qwerty12", "1qazxsw2",
             "poiuytrewq", "mnbvcxz,", "lkjhgfdsa", "abcdefgh", "abcdefg1", "abc12345", "abc123456",
             "abcd12345", "aa123456", "aaa123456", "a1234567", "a12345678", "aaaaaaaa", "zzzzzzzz",
             "qqqqqqqq", "xxxxxxxx", "asdasdasd", "qweqweqwe", "zxczxczxc", "123qweasd", "123qwe123",
             "123abc123", "qwe123qwe", "1qa2ws3ed", "password", "p@ssw0rd", "p@ssword", "passw0rd"]:
    add(walk)

words = """
password passwd iloveyou princess sunshine football baseball basketball superman batman
spiderman monkey dragon master shadow michael jennifer computer welcome whatever trustno1 letmein
admin administrator root qwerty test guest user login hello hellokitty angel lovely loveme
forever freedom flower summer winter spring autumn starwars pokemon naruto doraemon
china beijing shanghai guangzhou shenzhen foshan guangdong shunde nanhai chancheng sanshui
gaoming feihong wongfeihung kungfu gongfu wushu volunteer zhiyuan zhiyuanzhe woaini woaiwojia
woaiwoma woaini1314 aini wangwei zhangwei liwei lina wangfang liuyang zhangjie wangjing lijing
zhangmin wangli liqiang zhanglei wangqiang chenjing yangyang xiaoming xiaohong xiaoli xiaoyu
huanghe changjiang tianya baidu tencent wechat weixin taobao alibaba huawei xiaomi apple
iphone samsung google facebook microsoft windows internet qazwsx anhao jingcha police
security safety patrol community family mother father daughter brother sister
liverpool chelsea arsenal manutd barcelona realmadrid lakers kobebryant jordan michelle
jessica ashley charlie thomas robert daniel matthew andrew joshua william
""".split()
suffixes = ["", "1", "12", "123", "1234", "12345", "123456", "!", "!!", "@123", "#123", "0", "01",
            "007", "11", "22", "99", "00", "520", "521", "1314", "888", "666", "168", "2008", "2010",
            "2018", "2019", "2020", "2021", "2022", "2023", "2024", "2025", "2026"]
for word, suffix in itertools.product(words, suffixes):
    add(word + suffix)
    add("123" + word)

for line in sorted(out):
    print(line)
